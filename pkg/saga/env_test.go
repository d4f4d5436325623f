package saga_test

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/cloudevents/sdk-go/v2/event"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/stretchr/testify/require"

	"github.com/pave-platform/pave/pkg/bus"
	"github.com/pave-platform/pave/pkg/saga"
	"github.com/pave-platform/pave/pkg/schema"
	"github.com/pave-platform/pave/pkg/testkit"
)

// cmdSchema is the schema of both test commands: the saga ref and the
// resource the step creates or deletes.
const cmdSchema = `{
  "$schema": "https://json-schema.org/draft/2020-12/schema",
  "type": "object",
  "additionalProperties": false,
  "required": ["saga", "resource"],
  "properties": {
    "saga": {
      "type": "object",
      "additionalProperties": false,
      "required": ["id", "step", "attempt", "compensation"],
      "properties": {
        "id": {"type": "string", "minLength": 1},
        "step": {"type": "string", "minLength": 1},
        "attempt": {"type": "integer", "minimum": 1},
        "compensation": {"type": "boolean"}
      }
    },
    "resource": {"type": "string", "minLength": 1}
  }
}`

const bucket = "sagas"

// env is an embedded JetStream server with the streams, a bus that knows
// the test commands, and a fake worker answering them.
type env struct {
	srv    *testkit.NATSServer
	js     jetstream.JetStream
	bus    *bus.Bus
	worker *worker
}

func newEnv(t *testing.T) *env {
	t.Helper()
	srv := testkit.NATS(t)
	e := &env{srv: srv}
	e.bus, e.js = newBus(t, srv.Conn(t))
	ctx := context.Background()
	opts := bus.DefaultStreamOptions()
	for _, streams := range [][]jetstream.StreamConfig{
		bus.CoreStreams(opts), bus.ServiceStreams("sagatest", opts), bus.ServiceStreams("lifecycle", opts),
	} {
		require.NoError(t, bus.EnsureStreams(ctx, e.js, streams...))
	}
	e.worker = &worker{resources: map[string]bool{}, decide: func(saga.Ref) outcome { return succeed }}
	return e
}

func newBus(t *testing.T, nc *nats.Conn) (*bus.Bus, jetstream.JetStream) {
	t.Helper()
	reg, err := schema.Default()
	require.NoError(t, err)
	require.NoError(t, reg.Register(typeDo, []byte(cmdSchema)))
	require.NoError(t, reg.Register(typeUndo, []byte(cmdSchema)))
	b, err := bus.New(nc, reg, schema.SubjectFor, bus.WithAttemptTimeout(time.Second))
	require.NoError(t, err)
	return b, b.JetStream()
}

// engine starts an engine with its background part on the env's bucket.
func (e *env) engine(t *testing.T, b *bus.Bus, defs ...saga.Definition) *saga.Engine {
	t.Helper()
	eng, err := saga.NewEngine(context.Background(), b.JetStream(), b, bucket, defs,
		saga.WithOutboxGrace(200*time.Millisecond), saga.WithRetryDelay(50*time.Millisecond))
	require.NoError(t, err)
	require.NoError(t, eng.Launch())
	t.Cleanup(func() { stopEngine(t, eng) })
	return eng
}

func stopEngine(t *testing.T, eng *saga.Engine) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	require.NoError(t, eng.Stop(ctx))
}

// waitFor polls the instance until it reaches status. A terminal status
// is reached once the saga has also published what its last transition
// emitted: the write that ends it holds its last progress event until
// the publish is acknowledged and a second write removes it, and a read
// between the two (likely under load) sees that event still in the outbox.
func waitFor(t *testing.T, eng *saga.Engine, id string, status saga.Status) saga.Instance {
	t.Helper()
	var inst saga.Instance
	require.Eventually(t, func() bool {
		var err error
		inst, err = eng.Get(context.Background(), id)
		return err == nil && inst.Status == status && (!status.Terminal() || len(inst.Outbox) == 0)
	}, 20*time.Second, 20*time.Millisecond, "saga %s never reached %s with its outbox published; last: %s %s, %d in the outbox",
		id, status, inst.Status, steps(inst), len(inst.Outbox))
	return inst
}

// streamIDs lists the Nats-Msg-Id of every message in a stream.
func (e *env) streamIDs(t *testing.T, stream string) []string {
	t.Helper()
	ctx := context.Background()
	st, err := e.js.Stream(ctx, stream)
	require.NoError(t, err)
	info, err := st.Info(ctx)
	require.NoError(t, err)
	var ids []string
	for seq := info.State.FirstSeq; info.State.Msgs > 0 && seq <= info.State.LastSeq; seq++ {
		m, err := st.GetMsg(ctx, seq)
		require.NoError(t, err)
		ids = append(ids, m.Header.Get("Nats-Msg-Id"))
	}
	return ids
}

func progressIDs(id string, n int) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = fmt.Sprintf("%s/progress/%d", id, i+1)
	}
	return out
}

type outcome int

const (
	succeed outcome = iota
	failRetryable
	failPermanent
	silent // the work is done, the answer is lost
)

// worker is the fake receiver of the test commands: a Do creates the
// resource, an Undo deletes it, and the answer goes back through Deliver.
type worker struct {
	mu        sync.Mutex
	resources map[string]bool
	handled   []string // command ids, in order
	decide    func(saga.Ref) outcome
	engine    atomic.Pointer[saga.Engine]
}

// start subscribes the worker to the test commands and answers through eng.
func (e *env) startWorker(t *testing.T, eng *saga.Engine) {
	t.Helper()
	e.worker.engine.Store(eng)
	sub, err := e.bus.Subscribe(context.Background(), bus.ConsumerSpec{
		Stream: "CMD_SAGATEST", Durable: "worker", AckWait: 5 * time.Second, MaxDeliver: 50,
		Backoff: bus.Backoff{Base: 20 * time.Millisecond, Max: 200 * time.Millisecond},
	}, e.worker.handle)
	require.NoError(t, err)
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		_ = sub.Stop(ctx)
	})
}

func (w *worker) handle(ctx context.Context, ev event.Event) error {
	var d cmdData
	if err := json.Unmarshal(ev.Data(), &d); err != nil {
		return bus.Permanent(err)
	}
	ref := d.Saga
	o := w.apply(ev.ID(), ref, d.Resource)
	var in saga.Input
	switch o {
	case silent:
		return nil
	case succeed:
		in = saga.StepSucceeded{Ref: ref, Output: json.RawMessage(`{"resource":"` + d.Resource + `"}`)}
	default:
		in = saga.StepFailed{Ref: ref, Reason: "worker says no", Retryable: o == failRetryable}
	}
	return w.engine.Load().Deliver(ctx, ref.ID, in)
}

func (w *worker) apply(id string, ref saga.Ref, resource string) outcome {
	w.mu.Lock()
	defer w.mu.Unlock()
	o := w.decide(ref)
	if !slices.Contains(w.handled, id) {
		w.handled = append(w.handled, id)
	}
	if o == succeed || o == silent {
		if ref.Compensation {
			delete(w.resources, resource)
		} else {
			w.resources[resource] = true
		}
	}
	return o
}

func (w *worker) state() (handled []string, resources []string) {
	w.mu.Lock()
	defer w.mu.Unlock()
	for r := range w.resources {
		resources = append(resources, r)
	}
	slices.Sort(resources)
	return slices.Clone(w.handled), resources
}
