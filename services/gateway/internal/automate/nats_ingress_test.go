package automate_test

import (
	"context"
	"encoding/json"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/pave-platform/pave/pkg/bus"
	"github.com/pave-platform/pave/pkg/events"
	"github.com/pave-platform/pave/pkg/kv"
	"github.com/pave-platform/pave/pkg/schema"
	"github.com/pave-platform/pave/pkg/testkit"
	"github.com/pave-platform/pave/services/gateway/internal/automate"
	"github.com/pave-platform/pave/services/gateway/internal/ingress"
)

func lastOn(t *testing.T, js jetstream.JetStream, stream, subject string) *jetstream.RawStreamMsg {
	st, err := js.Stream(context.Background(), stream)
	require.NoError(t, err)
	m, err := st.GetLastMsgForSubject(context.Background(), subject)
	if err != nil {
		return nil
	}
	return m
}

// TestCustomTypesOnTheNATSIngress: the ingress consumers decode with the
// registry that knows the teams' types, so a custom event published on
// pave.ingress.> is validated against its schema: invalid data is
// rejected naming the field, and one without the gateway's stamp (no
// authenticated sender may speak for the team) is rejected saying so.
func TestCustomTypesOnTheNATSIngress(t *testing.T) {
	ctx := context.Background()
	nc := testkit.NATS(t).Conn(t)
	base, err := schema.Default()
	require.NoError(t, err)
	plain, err := bus.New(nc, base, schema.SubjectFor)
	require.NoError(t, err)
	js := plain.JetStream()
	so := bus.DefaultStreamOptions()
	require.NoError(t, bus.EnsureStreams(ctx, js, append(bus.CoreStreams(so), bus.ServiceStreams("gateway", so)...)...))
	table, err := kv.Open[automate.EventType](ctx, js, automate.TypesSpec(1))
	require.NoError(t, err)
	types := automate.NewTypes(table)
	_, err = types.Register(ctx, automate.EventType{Type: "pave.custom.alpha.build.done.v1", Team: "alpha", CreatedBy: "admin",
		Schema: json.RawMessage(`{"type":"object","required":["branch"],"properties":{"branch":{"type":"string"}}}`)})
	require.NoError(t, err)
	reg := automate.Registry{Base: base, Custom: types}
	b, err := bus.New(nc, reg, schema.SubjectFor)
	require.NoError(t, err)
	r := bus.NewRouter(b)
	ingress.Consumers(r, ingress.NewRouter(plain, ingress.NewStamperWithKey([]byte("k"))), ingress.NewRejecter(reg, plain))
	require.NoError(t, r.Start(ctx))
	t.Cleanup(func() { _ = r.Stop(context.Background()) })

	rejection := func(id string) *events.IngressRejected {
		m := lastOn(t, js, "EVT_GATEWAY", "pave.evt.gateway.ingress.rejected")
		if m == nil {
			return nil
		}
		var data events.IngressRejected
		require.NoError(t, json.Unmarshal(m.Data, &data))
		if data.EventID != id {
			return nil
		}
		return &data
	}
	publish := func(id string, data string) {
		e, err := bus.NewEvent(id, "ci/alpha", "pave.custom.alpha.build.done.v1", json.RawMessage(data))
		require.NoError(t, err)
		_, err = js.PublishMsg(ctx, bus.Encode(ingress.Subject(e.Type()), e))
		require.NoError(t, err)
	}

	publish("bad-data", `{"branch":7}`)
	var got *events.IngressRejected
	require.Eventually(t, func() bool { got = rejection("bad-data"); return got != nil }, 10*time.Second, 20*time.Millisecond,
		"no rejection of the custom event with bad data")
	assert.Equal(t, []events.FieldIssue{{Field: "data/branch", Message: got.Errors[0].Message}}, got.Errors)

	publish("unstamped", `{"branch":"main"}`)
	require.Eventually(t, func() bool { got = rejection("unstamped"); return got != nil }, 10*time.Second, 20*time.Millisecond,
		"no rejection of the unstamped custom event")
	assert.Contains(t, got.Reason, "not bound to an authenticated sender")
	assert.Empty(t, got.Errors, "its data is valid")
}
