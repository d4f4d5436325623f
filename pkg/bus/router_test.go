package bus_test

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/cloudevents/sdk-go/v2/event"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/pave-platform/pave/pkg/bus"
)

func startRouter(t *testing.T, r *bus.Router) {
	t.Helper()
	require.NoError(t, r.Start(context.Background()))
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		_ = r.Stop(ctx)
	})
}

// The router's middleware wraps every registered handler, without each
// registration passing it.
func TestRouterAppliesItsMiddlewareToEveryHandler(t *testing.T) {
	env := newEnv(t)
	var mu sync.Mutex
	seen := map[string]int{} // durable -> events the middleware saw
	mw := func(next bus.Handler) bus.Handler {
		return func(ctx context.Context, e event.Event) error {
			mi, _ := bus.Info(ctx)
			mu.Lock()
			seen[mi.Consumer]++
			mu.Unlock()
			return next(ctx, e)
		}
	}
	a, b := newRecorder(), newRecorder()
	r := bus.NewRouter(env.bus, mw)
	r.Handle(env.spec("router-a"), a.handle)
	r.Handle(env.spec("router-b"), b.handle)
	startRouter(t, r)
	for _, id := range ids("mw", 5) {
		env.publishOn(t, "k", newThing(t, id, 1))
	}
	require.Eventually(t, func() bool { return a.distinct() == 5 && b.distinct() == 5 }, 20*time.Second, 20*time.Millisecond,
		"both consumers should get all 5 events")
	mu.Lock()
	defer mu.Unlock()
	assert.Equal(t, 5, seen["router-a"])
	assert.Equal(t, 5, seen["router-b"])
}

// Stop drains all consumers; a second Start resumes where they stopped,
// losing nothing published meanwhile.
func TestRouterStopsTogetherAndStartsAgain(t *testing.T) {
	env := newEnv(t)
	a, b := newRecorder(), newRecorder()
	r := bus.NewRouter(env.bus)
	r.Handle(env.spec("again-a"), a.handle)
	r.Handle(env.spec("again-b"), b.handle)
	require.NoError(t, r.Start(context.Background()))
	require.Error(t, r.Start(context.Background()), "a running router refuses a second start")
	env.publishOn(t, "k", newThing(t, "before", 1))
	require.Eventually(t, func() bool { return a.count("before") == 1 && b.count("before") == 1 }, 20*time.Second, 20*time.Millisecond)

	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	require.NoError(t, r.Stop(ctx))
	env.publishOn(t, "k", newThing(t, "while-stopped", 1))
	startRouter(t, r)
	require.Eventually(t, func() bool { return a.count("while-stopped") == 1 && b.count("while-stopped") == 1 },
		20*time.Second, 20*time.Millisecond, "the event published while stopped should reach both consumers")
}

func TestRouterRefusesAConsumerRegisteredTwice(t *testing.T) {
	env := newEnv(t)
	r := bus.NewRouter(env.bus)
	r.Handle(env.spec("twice"), newRecorder().handle)
	r.Handle(env.spec("twice"), newRecorder().handle)
	err := r.Start(context.Background())
	require.Error(t, err)
	assert.Contains(t, err.Error(), "EVT_TEST/twice")
}

// A dead-letter handler runs under the bus's policy: its error is
// retried with backoff, and it is not retried forever but dead-lettered
// itself after MaxDeliver.
func TestRouterDeadLetterHandlerRunsUnderTheAckPolicy(t *testing.T) {
	env := newEnv(t)
	var calls atomic.Int32
	var reason atomic.Value
	r := bus.NewRouter(env.bus)
	r.Handle(env.spec("refuser"), func(context.Context, event.Event) error {
		return bus.Permanent(errors.New("refused on purpose"))
	})
	dlSpec := bus.ConsumerSpec{Durable: "refuser-dead-letters", MaxDeliver: 3,
		Backoff: bus.Backoff{Base: 20 * time.Millisecond, Max: 100 * time.Millisecond}}
	r.HandleDeadLetters(dlSpec, "EVT_TEST", "refuser", func(_ context.Context, dl bus.DeadLetter) error {
		calls.Add(1)
		reason.Store(dl.Reason)
		return errors.New("downstream unavailable")
	})
	startRouter(t, r)
	env.publishOn(t, "k", newThing(t, "refused", 1))

	require.Eventually(t, func() bool {
		for _, m := range env.deadLetters(t) {
			if m.Subject == bus.SubjectDLQPrefix+"DLQ.refuser-dead-letters" {
				return true
			}
		}
		return false
	}, 20*time.Second, 20*time.Millisecond, "the dead letter whose handler kept failing should be dead-lettered after 3 deliveries")
	assert.Equal(t, int32(3), calls.Load(), "handled once per delivery, up to MaxDeliver")
	assert.Contains(t, reason.Load(), "refused on purpose")
}
