package bus_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/cloudevents/sdk-go/v2/event"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/pave-platform/pave/pkg/bus"
)

// recorder collects what a handler saw, safely across workers.
type recorder struct {
	mu     sync.Mutex
	events []event.Event
	calls  map[string]int
}

func newRecorder() *recorder { return &recorder{calls: map[string]int{}} }

func (r *recorder) handle(_ context.Context, e event.Event) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.events = append(r.events, e)
	r.calls[e.ID()]++
	return nil
}

func (r *recorder) distinct() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.calls)
}

func (r *recorder) count(id string) int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.calls[id]
}

func TestIntegrityOfAttributesAndPayload(t *testing.T) {
	env := newEnv(t)
	rec := newRecorder()
	env.subscribe(t, env.spec("integrity"), rec.handle)

	ev, err := bus.NewEvent("id with spaces/ünïcode %41", "urn:pave:test \"quoted\"", testType, thing{N: 7, Key: "k", Pad: pad1K})
	require.NoError(t, err)
	ev.SetSubject("environments/é-1")
	ev.SetExtension("traceparent", "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01")
	ev.SetExtension("team", "payments")
	env.publishOn(t, "a", ev)

	require.Eventually(t, func() bool { return rec.distinct() == 1 }, 5*time.Second, 10*time.Millisecond)
	got := rec.events[0]
	assert.Equal(t, ev.ID(), got.ID())
	assert.Equal(t, ev.Source(), got.Source())
	assert.Equal(t, ev.Type(), got.Type())
	assert.Equal(t, ev.Subject(), got.Subject())
	assert.True(t, ev.Time().Equal(got.Time()), "time %s vs %s", ev.Time(), got.Time())
	assert.Equal(t, "application/json", got.DataContentType())
	assert.JSONEq(t, string(ev.Data()), string(got.Data()))
	assert.Equal(t, "payments", got.Extensions()["team"])
	assert.Equal(t, "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01", got.Extensions()["traceparent"])
}

func TestNoLossAcrossSubscriberRestart(t *testing.T) {
	env := newEnv(t)
	const n = 600
	for i, id := range ids("sub-restart", n) {
		env.publishOn(t, fmt.Sprint(i%3), newThing(t, id, i))
	}
	rec := newRecorder()
	var handled atomic.Int64
	sub, err := env.bus.Subscribe(context.Background(), env.spec("restart"), func(ctx context.Context, e event.Event) error {
		handled.Add(1)
		return rec.handle(ctx, e)
	})
	require.NoError(t, err)
	require.Eventually(t, func() bool { return handled.Load() >= n/3 }, 10*time.Second, time.Millisecond)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	require.NoError(t, sub.Stop(ctx))
	stoppedAt := rec.distinct()

	env.subscribe(t, env.spec("restart"), rec.handle)
	require.Eventually(t, func() bool { return rec.distinct() == n }, 10*time.Second, 10*time.Millisecond)
	assert.Less(t, stoppedAt, n, "the first subscription should not have seen everything")
}

func TestRedeliveryWithBackoffAfterError(t *testing.T) {
	env := newEnv(t)
	var mu sync.Mutex
	var at []time.Time
	spec := env.spec("backoff")
	spec.Backoff = bus.Backoff{Base: 150 * time.Millisecond, Max: time.Second}
	env.subscribe(t, spec, func(_ context.Context, e event.Event) error {
		mu.Lock()
		defer mu.Unlock()
		at = append(at, time.Now())
		if len(at) < 3 {
			return errors.New("database busy")
		}
		return nil
	})
	env.publishOn(t, "a", newThing(t, "retry-me", 1))
	require.Eventually(t, func() bool { mu.Lock(); defer mu.Unlock(); return len(at) == 3 }, 5*time.Second, 10*time.Millisecond)
	mu.Lock()
	defer mu.Unlock()
	// Delays are a lower bound the bus promises (base, then doubled).
	assert.GreaterOrEqual(t, at[1].Sub(at[0]), 150*time.Millisecond)
	assert.GreaterOrEqual(t, at[2].Sub(at[1]), 300*time.Millisecond)
	assert.Empty(t, env.deadLetters(t))
}

func TestDeduplicatesRepublishedID(t *testing.T) {
	env := newEnv(t)
	rec := newRecorder()
	env.subscribe(t, env.spec("dedupe"), rec.handle)
	ev := newThing(t, "same-id", 1)
	env.publishOn(t, "a", ev)
	env.publishOn(t, "a", ev)
	env.publishOn(t, "a", newThing(t, "marker", 2))
	require.Eventually(t, func() bool { return rec.count("marker") == 1 }, 5*time.Second, 10*time.Millisecond)
	assert.Equal(t, 1, rec.count("same-id"))
	assert.Equal(t, uint64(2), env.streamMsgs(t, "EVT_TEST"))
}

func TestPerSubjectOrdering(t *testing.T) {
	env := newEnv(t)
	spec := env.spec("order")
	spec.Concurrency = 4
	assertOrderPerKey(t, env, spec, 100)
}

// assertOrderPerKey publishes perKey messages on each of five keys,
// interleaved, and checks that spec's consumer handles every key's in the
// order they were stored.
func assertOrderPerKey(t *testing.T, env *env, spec bus.ConsumerSpec, perKey int) {
	t.Helper()
	var mu sync.Mutex
	seen := map[string][]int{}
	env.subscribe(t, spec, func(_ context.Context, e event.Event) error {
		th := dataOf(t, e)
		mu.Lock()
		defer mu.Unlock()
		seen[th.Key] = append(seen[th.Key], th.N)
		return nil
	})
	keys := []string{"a", "b", "c", "d", "e"}
	for i := range perKey {
		for _, k := range keys {
			ev, err := bus.NewEvent(fmt.Sprintf("%s-%d", k, i), "pave/test", testType, thing{N: i, Key: k})
			require.NoError(t, err)
			env.publishOn(t, k, ev)
		}
	}
	total := func() int {
		mu.Lock()
		defer mu.Unlock()
		n := 0
		for _, v := range seen {
			n += len(v)
		}
		return n
	}
	if !assert.Eventually(t, func() bool { return total() == perKey*len(keys) }, 20*time.Second, 10*time.Millisecond) {
		t.Fatalf("handled %d of %d messages", total(), perKey*len(keys))
	}
	for _, k := range keys {
		for i, n := range seen[k] {
			require.Equal(t, i, n, "subject %s out of order at %d", k, i)
		}
	}
}

func TestGracefulDrainFinishesInFlightHandler(t *testing.T) {
	env := newEnv(t)
	started := make(chan struct{})
	release := make(chan struct{})
	var done atomic.Bool
	sub, err := env.bus.Subscribe(context.Background(), env.spec("drain"), func(context.Context, event.Event) error {
		close(started)
		<-release
		done.Store(true)
		return nil
	})
	require.NoError(t, err)
	env.publishOn(t, "a", newThing(t, "slow", 1))
	<-started

	stopped := make(chan error, 1)
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		stopped <- sub.Stop(ctx)
	}()
	select {
	case <-stopped:
		t.Fatal("Stop returned while a handler was still running")
	case <-time.After(200 * time.Millisecond):
	}
	close(release)
	require.NoError(t, <-stopped)
	assert.True(t, done.Load())

	cons, err := env.js.Consumer(context.Background(), "EVT_TEST", "drain")
	require.NoError(t, err)
	info, err := cons.Info(context.Background())
	require.NoError(t, err)
	assert.Equal(t, 0, info.NumAckPending, "the drained message must be acknowledged")
	assert.Equal(t, uint64(0), info.NumPending)
}

func TestConcurrentCloseIsSafe(t *testing.T) {
	env := newEnv(t)
	rec := newRecorder()
	sub, err := env.bus.Subscribe(context.Background(), env.spec("close"), rec.handle)
	require.NoError(t, err)
	for i, id := range ids("close", 50) {
		env.publishOn(t, fmt.Sprint(i%4), newThing(t, id, i))
	}
	var wg sync.WaitGroup
	errs := make(chan error, 8)
	for range 8 {
		wg.Go(func() {
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			errs <- sub.Stop(ctx)
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		assert.NoError(t, err)
	}
	// Whatever was not handled is still there for the next subscriber.
	env.subscribe(t, env.spec("close"), rec.handle)
	require.Eventually(t, func() bool { return rec.distinct() == 50 }, 10*time.Second, 10*time.Millisecond)
}

func TestPermanentErrorGoesToDLQAtOnce(t *testing.T) {
	env := newEnv(t)
	var calls atomic.Int64
	env.subscribe(t, env.spec("perm"), func(_ context.Context, e event.Event) error {
		calls.Add(1)
		if e.ID() == "bad" {
			return bus.Permanent(errors.New("parameter size: unknown class xl"))
		}
		return nil
	})
	env.publishOn(t, "a", newThing(t, "bad", 1))
	env.publishOn(t, "a", newThing(t, "good", 2))
	require.Eventually(t, func() bool { return len(env.deadLetters(t)) == 1 && calls.Load() == 2 }, 5*time.Second, 10*time.Millisecond)
	dl := env.deadLetters(t)[0]
	assert.Equal(t, "parameter size: unknown class xl", dl.Header.Get(bus.HeaderDLQReason))
	assert.Equal(t, "1", dl.Header.Get(bus.HeaderDLQDeliveries))
	assert.Equal(t, "bad", dl.Header.Get("ce-id"), "original headers are kept")
	assert.Equal(t, "pave.evt.test.thing.a", dl.Header.Get(bus.HeaderDLQSubject))
}

func TestPoisonMessageEndsInDLQAfterMaxDeliver(t *testing.T) {
	env := newEnv(t)
	var calls atomic.Int64
	spec := env.spec("poison")
	spec.MaxDeliver = 3
	env.subscribe(t, spec, func(_ context.Context, e event.Event) error {
		if e.ID() == "poison" {
			calls.Add(1)
			panic("nil map in handler")
		}
		return nil
	})
	env.publishOn(t, "a", newThing(t, "poison", 1))
	require.Eventually(t, func() bool { return len(env.deadLetters(t)) == 1 }, 10*time.Second, 10*time.Millisecond)
	dl := env.deadLetters(t)[0]
	assert.Contains(t, dl.Header.Get(bus.HeaderDLQReason), "gave up after 3 deliveries")
	assert.Contains(t, dl.Header.Get(bus.HeaderDLQReason), "nil map in handler")
	assert.Equal(t, int64(3), calls.Load())

	// The notice for alerting is on the platform stream.
	require.Eventually(t, func() bool { return env.streamMsgs(t, bus.StreamPlatform) == 1 }, 5*time.Second, 10*time.Millisecond)
}

func TestUnacknowledgedLastDeliveryIsDeadLetteredByAdvisory(t *testing.T) {
	env := newEnv(t)
	stuck := make(chan struct{})
	t.Cleanup(func() { close(stuck) })
	spec := env.spec("hung")
	spec.MaxDeliver = 2
	spec.AckWait = 300 * time.Millisecond
	spec.Concurrency = 1
	env.subscribe(t, spec, func(context.Context, event.Event) error {
		<-stuck // a worker that hangs and ignores its deadline
		return nil
	})
	env.publishOn(t, "a", newThing(t, "hangs", 1))
	require.Eventually(t, func() bool { return len(env.deadLetters(t)) == 1 }, 10*time.Second, 20*time.Millisecond)
	assert.Contains(t, env.deadLetters(t)[0].Header.Get(bus.HeaderDLQReason), "no acknowledgement")
}

func TestMalformedMessagesAreDeadLetteredAndConsumerCarriesOn(t *testing.T) {
	env := newEnv(t)
	rec := newRecorder()
	env.subscribe(t, env.spec("malformed"), rec.handle)

	good := bus.Encode("pave.evt.test.thing.a", newThing(t, "template", 1)).Header
	tests := []struct {
		name   string
		mutate func(h nats.Header) []byte
		want   string
	}{
		{"no ce-id", func(h nats.Header) []byte { h.Del("ce-id"); return []byte(`{"n":1}`) }, "ce-id: required header is missing"},
		{"wrong specversion", func(h nats.Header) []byte { h.Set("ce-specversion", "0.3"); return []byte(`{"n":1}`) }, "ce-specversion"},
		{"data not JSON", func(nats.Header) []byte { return []byte(`{n:`) }, "data: not valid JSON"},
		{"unknown type", func(h nats.Header) []byte {
			h.Set("ce-type", "dev.pave.test.nobody.knows.v1")
			return []byte(`{"n":1}`)
		}, "dev.pave.test.nobody.knows.v1"},
		{"schema violation", func(nats.Header) []byte { return []byte(`{"n":-4}`) }, "/n"},
	}
	for i, tt := range tests {
		h := nats.Header{}
		for k, v := range good {
			h[k] = append([]string(nil), v...)
		}
		data := tt.mutate(h)
		h.Set("Nats-Msg-Id", fmt.Sprintf("malformed-%d", i))
		_, err := env.js.PublishMsg(context.Background(), &nats.Msg{Subject: "pave.evt.test.thing.a", Header: h, Data: data})
		require.NoError(t, err, tt.name)
	}
	env.publishOn(t, "a", newThing(t, "after", 1))
	require.Eventually(t, func() bool { return rec.count("after") == 1 && len(env.deadLetters(t)) == len(tests) }, 10*time.Second, 10*time.Millisecond)
	dls := env.deadLetters(t)
	for i, tt := range tests {
		assert.Contains(t, dls[i].Header.Get(bus.HeaderDLQReason), tt.want, tt.name)
	}
	assert.Equal(t, 1, rec.distinct(), "no malformed message reached the handler")
}

func TestPublishRefusesInvalidEvents(t *testing.T) {
	env := newEnv(t)
	ctx := context.Background()
	bad, err := bus.NewEvent("x", "pave/test", testType, map[string]any{"n": "seven"})
	require.NoError(t, err)
	err = env.bus.Publish(ctx, bad)
	require.Error(t, err)
	assert.True(t, bus.IsPermanent(err))
	assert.Contains(t, err.Error(), "/n")

	unknown, err := bus.NewEvent("y", "pave/test", "dev.pave.test.unknown.thing.v1", map[string]any{})
	require.NoError(t, err)
	assert.True(t, bus.IsPermanent(env.bus.Publish(ctx, unknown)))

	noID := newThing(t, "", 1)
	assert.True(t, bus.IsPermanent(env.bus.Publish(ctx, noID)))
	assert.Equal(t, uint64(0), env.streamMsgs(t, "EVT_TEST"))
}

func TestDedupeMiddlewareSkipsCompletedRedelivery(t *testing.T) {
	env := newEnv(t)
	kv, err := env.js.CreateOrUpdateKeyValue(context.Background(), jetstream.KeyValueConfig{Bucket: "test_dedupe", TTL: time.Hour})
	require.NoError(t, err)
	var effects atomic.Int64
	h := bus.Chain(func(context.Context, event.Event) error { effects.Add(1); return nil }, bus.Dedupe(kv))
	ev := newThing(t, "once", 1)
	for range 3 { // three deliveries of the same event, as after lost acks
		require.NoError(t, h(context.Background(), ev))
	}
	assert.Equal(t, int64(1), effects.Load())
}
