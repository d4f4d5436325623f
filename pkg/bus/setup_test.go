package bus_test

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/cloudevents/sdk-go/v2/event"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/stretchr/testify/require"

	"github.com/pave-platform/pave/pkg/bus"
	"github.com/pave-platform/pave/pkg/schema"
	"github.com/pave-platform/pave/pkg/testkit"
)

// The test event type; its subject is pave.evt.test.thing.<key>, where
// tests vary the last token to get several subjects.
const testType = "dev.pave.test.thing.happened.v1"

const testSchema = `{
  "$schema": "https://json-schema.org/draft/2020-12/schema",
  "$id": "https://pave.dev/schemas/events/dev.pave.test.thing.happened.v1.json",
  "type": "object",
  "additionalProperties": false,
  "required": ["n"],
  "properties": {
    "n": {"type": "integer", "minimum": 0},
    "key": {"type": "string"},
    "pad": {"type": "string"}
  }
}`

type thing struct {
	N   int    `json:"n"`
	Key string `json:"key,omitempty"`
	Pad string `json:"pad,omitempty"`
}

type env struct {
	srv *testkit.NATSServer
	nc  *nats.Conn
	js  jetstream.JetStream
	bus *bus.Bus
}

func newEnv(t *testing.T) *env {
	t.Helper()
	srv := testkit.NATS(t)
	nc := srv.Conn(t)
	reg, err := schema.Default()
	require.NoError(t, err)
	require.NoError(t, reg.Register(testType, []byte(testSchema)))
	b, err := bus.New(nc, reg, schema.SubjectFor)
	require.NoError(t, err)
	opts := bus.DefaultStreamOptions()
	ctx := context.Background()
	require.NoError(t, bus.EnsureStreams(ctx, b.JetStream(), bus.CoreStreams(opts)...))
	require.NoError(t, bus.EnsureStreams(ctx, b.JetStream(), bus.ServiceStreams("test", opts)...))
	return &env{srv: srv, nc: nc, js: b.JetStream(), bus: b}
}

func newThing(t testing.TB, id string, n int) event.Event {
	t.Helper()
	e, err := bus.NewEvent(id, "pave/test", testType, thing{N: n})
	require.NoError(t, err)
	return e
}

// publishOn sends a test event on pave.evt.test.thing.<key>.
func (e *env) publishOn(t testing.TB, key string, ev event.Event) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	require.NoError(t, e.bus.PublishOn(ctx, "pave.evt.test.thing."+key, ev))
}

func (e *env) spec(durable string) bus.ConsumerSpec {
	return bus.ConsumerSpec{
		Stream: "EVT_TEST", Durable: durable,
		Backoff: bus.Backoff{Base: 20 * time.Millisecond, Max: 200 * time.Millisecond},
	}
}

func (e *env) subscribe(t *testing.T, spec bus.ConsumerSpec, h bus.Handler) *bus.Subscription {
	t.Helper()
	sub, err := e.bus.Subscribe(context.Background(), spec, h)
	require.NoError(t, err)
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		_ = sub.Stop(ctx)
	})
	return sub
}

// deadLetters returns the DLQ messages in order.
func (e *env) deadLetters(t *testing.T) []*jetstream.RawStreamMsg {
	t.Helper()
	ctx := context.Background()
	st, err := e.js.Stream(ctx, bus.StreamDLQ)
	require.NoError(t, err)
	info, err := st.Info(ctx)
	require.NoError(t, err)
	var out []*jetstream.RawStreamMsg
	for seq := info.State.FirstSeq; seq <= info.State.LastSeq && info.State.Msgs > 0; seq++ {
		m, err := st.GetMsg(ctx, seq)
		require.NoError(t, err)
		out = append(out, m)
	}
	return out
}

func (e *env) streamMsgs(t *testing.T, name string) uint64 {
	t.Helper()
	st, err := e.js.Stream(context.Background(), name)
	require.NoError(t, err)
	info, err := st.Info(context.Background())
	require.NoError(t, err)
	return info.State.Msgs
}

func dataOf(t testing.TB, ev event.Event) thing {
	t.Helper()
	var th thing
	require.NoError(t, json.Unmarshal(ev.Data(), &th))
	return th
}

func ids(prefix string, n int) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = fmt.Sprintf("%s-%05d", prefix, i)
	}
	return out
}

var pad1K = strings.Repeat("x", 1000)
