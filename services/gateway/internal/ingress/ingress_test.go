package ingress_test

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/pave-platform/pave/pkg/bus"
	"github.com/pave-platform/pave/pkg/events"
	"github.com/pave-platform/pave/pkg/schema"
	"github.com/pave-platform/pave/pkg/testkit"
	"github.com/pave-platform/pave/services/gateway/internal/ingress"
)

const ciData = `{"provider":"ci","repository":"Codertocat/Hello-World","team":"demo","application":"hello-world",` +
	`"commit":"6113728f27ae82c7b1a177c8d03f9e96e0adf246","conclusion":"success","name":"build","url":"https://ci/1","delivery_id":"b-1"}`

func registry(t *testing.T) *schema.Registry {
	t.Helper()
	reg, err := schema.Default()
	require.NoError(t, err)
	return reg
}

func binary(id, typ, data string) (http.Header, []byte) {
	h := http.Header{}
	h.Set("ce-specversion", "1.0")
	h.Set("ce-id", id)
	h.Set("ce-source", "ci/builder")
	h.Set("ce-type", typ)
	h.Set("Content-Type", "application/json")
	return h, []byte(data)
}

func structured(id, typ, data string) string {
	return `{"specversion":"1.0","id":"` + id + `","source":"ci/builder","type":"` + typ + `","datacontenttype":"application/json","data":` + data + `}`
}

func TestParseAcceptsTheThreeContentModes(t *testing.T) {
	reg := registry(t)
	h, body := binary("e-1", events.TypeCICompleted, ciData)
	evs, bad := ingress.Parse(reg, h, body)
	require.Nil(t, bad)
	require.Len(t, evs, 1)
	assert.Equal(t, "e-1", evs[0].ID())
	assert.JSONEq(t, ciData, string(evs[0].Data()))

	h = http.Header{"Content-Type": {ingress.ContentTypeStructured}}
	evs, bad = ingress.Parse(reg, h, []byte(structured("e-2", events.TypeCICompleted, ciData)))
	require.Nil(t, bad)
	require.Len(t, evs, 1)
	assert.Equal(t, "e-2", evs[0].ID())

	h = http.Header{"Content-Type": {ingress.ContentTypeBatch}}
	batch := "[" + structured("e-3", events.TypeCICompleted, ciData) + "," + structured("e-4", events.TypeCICompleted, ciData) + "]"
	evs, bad = ingress.Parse(reg, h, []byte(batch))
	require.Nil(t, bad)
	require.Len(t, evs, 2)
	assert.Equal(t, "e-4", evs[1].ID())
}

func TestParseRefusesMalformedEventsNamingTheField(t *testing.T) {
	reg := registry(t)
	noCommit := `{"provider":"ci","repository":"r/r","team":"demo","application":"","conclusion":"success","name":"","url":"","delivery_id":"b"}`
	batchCT := http.Header{"Content-Type": {ingress.ContentTypeBatch}}
	tests := []struct {
		name   string
		header http.Header
		body   string
		index  int
		field  string
	}{
		{"no id", hdr(binary("", events.TypeCICompleted, ciData)), ciData, -1, "id"},
		{"unknown type", hdr(binary("e", "com.example.thing.v1", ciData)), ciData, -1, "type"},
		{"data against the schema", hdr(binary("e", events.TypeCICompleted, noCommit)), noCommit, -1, "data/commit"},
		{"not JSON data", withCT(hdr(binary("e", events.TypeCICompleted, "x")), "text/plain"), "x", -1, "datacontenttype"},
		{"neither binary nor structured", http.Header{"Content-Type": {"application/json"}}, ciData, -1, "header.ce-specversion"},
		{"batch names the index", batchCT, "[" + structured("a", events.TypeCICompleted, ciData) + "," +
			structured("b", events.TypeCICompleted, noCommit) + "]", 1, "data/commit"},
		{"batch repeats an id", batchCT, "[" + structured("a", events.TypeCICompleted, ciData) + "," +
			structured("a", events.TypeCICompleted, ciData) + "]", 1, "id"},
		{"batch is not an array", batchCT, ciData, -1, "body"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			evs, bad := ingress.Parse(reg, tt.header, []byte(tt.body))
			require.NotNil(t, bad)
			assert.Nil(t, evs, "nothing of a bad request is kept")
			assert.Equal(t, tt.index, bad.Index)
			require.NotEmpty(t, bad.Issues)
			assert.Equal(t, tt.field, bad.Issues[0].Field, "%v", bad)
		})
	}
}

func hdr(h http.Header, _ []byte) http.Header { return h }

func withCT(h http.Header, ct string) http.Header {
	h.Set("Content-Type", ct)
	return h
}

func TestAllowedTypes(t *testing.T) {
	a := ingress.ParseAllowedTypes(map[string]string{"ci/builder": events.TypeCICompleted + "|" + events.TypeGitPushed,
		"payments/*": "dev.pave.gateway.*"})
	assert.True(t, a.Allows("ci/builder", events.TypeCICompleted))
	assert.True(t, a.Allows("ci/builder", events.TypeGitPushed))
	assert.False(t, a.Allows("ci/builder", events.TypeDeploymentRecorded))
	assert.True(t, a.Allows("payments/deployer", events.TypeDeploymentRecorded))
	assert.False(t, a.Allows("other/x", events.TypeCICompleted))
}

// testStamper stands for the gateway's door: what it stamps is let in.
var testStamper = ingress.NewStamperWithKey([]byte("test stamp key"))

// natsIngress runs the router and the rejecter on an embedded server.
func natsIngress(t *testing.T) (*bus.Bus, jetstream.JetStream) {
	t.Helper()
	nc := testkit.NATS(t).Conn(t)
	reg := registry(t)
	b, err := bus.New(nc, reg, schema.SubjectFor)
	require.NoError(t, err)
	ctx := context.Background()
	so := bus.DefaultStreamOptions()
	require.NoError(t, bus.EnsureStreams(ctx, b.JetStream(), append(bus.CoreStreams(so), bus.ServiceStreams("gateway", so)...)...))
	r := bus.NewRouter(b)
	ingress.Consumers(r, ingress.NewRouter(b, testStamper), ingress.NewRejecter(reg, b))
	require.NoError(t, r.Start(ctx))
	t.Cleanup(func() { _ = r.Stop(context.Background()) })
	return b, b.JetStream()
}

func lastOn(t *testing.T, js jetstream.JetStream, stream, subject string) *jetstream.RawStreamMsg {
	st, err := js.Stream(context.Background(), stream)
	require.NoError(t, err)
	m, err := st.GetLastMsgForSubject(context.Background(), subject)
	if err != nil {
		return nil
	}
	return m
}

func TestInvalidNATSPublishIsDeadLetteredAndRejected(t *testing.T) {
	_, js := natsIngress(t)
	ctx := context.Background()
	noCommit := `{"provider":"ci","repository":"r/r","team":"demo","application":"","conclusion":"success","name":"","url":"","delivery_id":"b"}`
	e, err := bus.NewEvent("bad-1", "ci/builder", events.TypeCICompleted, json.RawMessage(noCommit))
	require.NoError(t, err)
	// A sender publishes without Pave's validation, as any NATS client can.
	_, err = js.PublishMsg(ctx, bus.Encode(ingress.Subject(events.TypeCICompleted), e))
	require.NoError(t, err)

	var dead *jetstream.RawStreamMsg
	require.Eventually(t, func() bool { dead = lastOn(t, js, "DLQ", "pave.dlq.INGRESS."+ingress.Durable); return dead != nil },
		10*time.Second, 20*time.Millisecond)
	assert.Contains(t, dead.Header.Get(bus.HeaderDLQReason), "/commit")

	var rejected *jetstream.RawStreamMsg
	require.Eventually(t, func() bool {
		rejected = lastOn(t, js, "EVT_GATEWAY", "pave.evt.gateway.ingress.rejected")
		return rejected != nil
	},
		10*time.Second, 20*time.Millisecond)
	var data events.IngressRejected
	require.NoError(t, json.Unmarshal(rejected.Data, &data))
	assert.Equal(t, "bad-1", data.EventID)
	assert.Equal(t, "ci/builder", data.Source)
	assert.Equal(t, events.TypeCICompleted, data.Type)
	assert.Contains(t, data.Reason, "required property is missing")
	assert.Equal(t, []events.FieldIssue{{Field: "data/commit", Message: "required property is missing"}}, data.Errors)
	assert.Nil(t, lastOn(t, js, "EVT_GATEWAY", "pave.evt.gateway.ci.completed"), "nothing invalid is routed")
}

func TestValidNATSPublishIsRouted(t *testing.T) {
	b, js := natsIngress(t)
	ctx := context.Background()
	e, err := bus.NewEvent("good-1", "ci/builder", events.TypeCICompleted, json.RawMessage(ciData))
	require.NoError(t, err)
	// Stamped as POST /v1/events stamps what it lets in.
	require.NoError(t, testStamper.Stamp(ctx, &e, "ci/builder", "demo"))
	require.NoError(t, b.PublishOn(ctx, ingress.Subject(events.TypeCICompleted), e))
	var routed *jetstream.RawStreamMsg
	require.Eventually(t, func() bool {
		routed = lastOn(t, js, "EVT_GATEWAY", "pave.evt.gateway.ci.completed")
		return routed != nil
	},
		10*time.Second, 20*time.Millisecond)
	assert.Equal(t, "good-1", routed.Header.Get("Nats-Msg-Id"), "the same id, so a resend is deduplicated")
	assert.JSONEq(t, ciData, string(routed.Data))
	assert.Equal(t, "ci/builder", routed.Header.Get("ce-paveprincipal"), "the sender travels with the event")
	assert.Equal(t, "demo", routed.Header.Get("ce-paveteam"))

	// Another service's type is kept on INGRESS, never spoken for it.
	other, err := bus.NewEvent("other-1", "somewhere", events.TypeServiceStarted, events.ServiceStarted{
		Service: "gateway", Instance: "i", Version: "1", StartedAt: time.Now().UTC()})
	require.NoError(t, err)
	require.NoError(t, b.PublishOn(ctx, ingress.Subject(events.TypeServiceStarted), other))
	require.Eventually(t, func() bool {
		info, err := js.Consumer(ctx, "INGRESS", ingress.Durable)
		if err != nil {
			return false
		}
		ci, err := info.Info(ctx)
		return err == nil && ci.AckFloor.Stream == 2
	}, 10*time.Second, 20*time.Millisecond)
	assert.Nil(t, lastOn(t, js, "EVT_PLATFORM", "pave.evt.platform.service.started"))
	assert.NotNil(t, lastOn(t, js, "INGRESS", ingress.Subject(events.TypeServiceStarted)))
	_ = bytes.MinRead
}

// Finding 3 of issue 16, on NATS: a CI result published straight on
// pave.ingress.> (no sender the gateway authenticated), or one whose
// stamp was copied onto other data, is dead-lettered with the reason and
// never reaches the promotion gate.
func TestAttackUnboundNATSIngressIsDeadLettered(t *testing.T) {
	b, js := natsIngress(t)
	ctx := context.Background()
	forged, err := bus.NewEvent("forged-1", "ci/builder", events.TypeCICompleted, json.RawMessage(ciData))
	require.NoError(t, err)
	forged.SetExtension(ingress.ExtPrincipal, "demo/ci")
	forged.SetExtension(ingress.ExtTeam, "demo")
	require.NoError(t, b.PublishOn(ctx, ingress.Subject(events.TypeCICompleted), forged))
	var dead *jetstream.RawStreamMsg
	require.Eventually(t, func() bool { dead = lastOn(t, js, "DLQ", "pave.dlq.INGRESS."+ingress.Durable); return dead != nil },
		10*time.Second, 20*time.Millisecond, "the unstamped event was never dead-lettered")
	assert.Contains(t, dead.Header.Get(bus.HeaderDLQReason), "not bound to an authenticated sender")

	// A real stamp moved onto other data does not verify either.
	good, err := bus.NewEvent("moved-1", "ci/builder", events.TypeCICompleted, json.RawMessage(ciData))
	require.NoError(t, err)
	require.NoError(t, testStamper.Stamp(ctx, &good, "demo/ci", "demo"))
	moved := good.Clone()
	require.NoError(t, moved.SetData("application/json", json.RawMessage(strings.Replace(ciData, `"team":"demo"`, `"team":"beta"`, 1))))
	require.NoError(t, b.PublishOn(ctx, ingress.Subject(events.TypeCICompleted), moved))
	require.Eventually(t, func() bool {
		dead = lastOn(t, js, "DLQ", "pave.dlq.INGRESS."+ingress.Durable)
		return dead != nil && dead.Header.Get("ce-id") == "moved-1"
	}, 10*time.Second, 20*time.Millisecond, "the moved stamp was never dead-lettered")
	assert.Contains(t, dead.Header.Get(bus.HeaderDLQReason), "the stamp does not verify")
	assert.Nil(t, lastOn(t, js, "EVT_GATEWAY", "pave.evt.gateway.ci.completed"), "nothing unbound is routed")
}
