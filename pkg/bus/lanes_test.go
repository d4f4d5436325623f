package bus_test

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/cloudevents/sdk-go/v2/event"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/pave-platform/pave/pkg/bus"
)

// More keys than lanes and more messages per key than a lane's turn:
// every key's messages are handled in the order they were stored.
func TestLanesKeepOrderPerKey(t *testing.T) {
	env := newEnv(t)
	spec := env.spec("lanes-order")
	spec.Lanes = 2
	assertOrderPerKey(t, env, spec, 150)
}

// A key whose handler is stuck holds up only its own messages: the
// other key's are handled meanwhile (with one worker per hash they
// would wait behind it).
func TestALaneWaitsOnlyForItsOwnKey(t *testing.T) {
	env := newEnv(t)
	release := make(chan struct{})
	var mu sync.Mutex
	var fast []string
	slowDone := 0
	spec := env.spec("lanes-hol")
	spec.Lanes = 4
	spec.AckWait = 30 * time.Second
	env.subscribe(t, spec, func(_ context.Context, e event.Event) error {
		if dataOf(t, e).Key == "slow" {
			<-release
			mu.Lock()
			slowDone++
			mu.Unlock()
			return nil
		}
		mu.Lock()
		fast = append(fast, e.ID())
		mu.Unlock()
		return nil
	})
	var once sync.Once
	unstick := func() { once.Do(func() { close(release) }) }
	t.Cleanup(unstick) // before the subscription's drain, which waits for it
	publish := func(key, id string, n int) {
		ev, err := bus.NewEvent(id, "pave/test", testType, thing{N: n, Key: key})
		require.NoError(t, err)
		env.publishOn(t, key, ev)
	}
	publish("slow", "slow-0", 0)
	publish("slow", "slow-1", 1)
	for i := range 20 {
		publish("fast", fmt.Sprintf("fast-%d", i), i)
	}
	require.Eventually(t, func() bool { mu.Lock(); defer mu.Unlock(); return len(fast) == 20 },
		10*time.Second, 10*time.Millisecond, "the fast key waited behind the stuck one")
	mu.Lock()
	assert.Zero(t, slowDone)
	mu.Unlock()
	unstick()
	require.Eventually(t, func() bool { mu.Lock(); defer mu.Unlock(); return slowDone == 2 },
		10*time.Second, 10*time.Millisecond)
}

// Stopping a consumer on lanes gives back what it had not started;
// the next subscriber gets all of it.
func TestLanesDrainGivesBackWhatWasNotStarted(t *testing.T) {
	env := newEnv(t)
	rec := newRecorder()
	spec := env.spec("lanes-close")
	spec.Lanes = 2
	sub, err := env.bus.Subscribe(context.Background(), spec, rec.handle)
	require.NoError(t, err)
	for i, id := range ids("lclose", 200) {
		env.publishOn(t, fmt.Sprint(i%8), newThing(t, id, i))
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	require.NoError(t, sub.Stop(ctx))
	env.subscribe(t, spec, rec.handle)
	require.Eventually(t, func() bool { return rec.distinct() == 200 }, 20*time.Second, 10*time.Millisecond)
}

// Stopping a consumer whose worker is stuck in a handler, with that
// worker's queue full, ends when Stop's context does: the dispatch that
// waits for the full queue gives its message back instead of holding up
// the stop.
func TestStopEndsWhileAWorkerIsStuckWithAFullQueue(t *testing.T) {
	env := newEnv(t)
	release := make(chan struct{})
	var once sync.Once
	unstick := func() { once.Do(func() { close(release) }) }
	t.Cleanup(unstick)
	started := make(chan struct{}, 1)
	spec := env.spec("stuck-full")
	spec.Concurrency = 1
	spec.AckWait = 30 * time.Second
	sub, err := env.bus.Subscribe(context.Background(), spec, func(context.Context, event.Event) error {
		select {
		case started <- struct{}{}:
		default:
		}
		<-release
		return nil
	})
	require.NoError(t, err)
	for i := range 40 { // one in the handler, 16 queued, the rest at the dispatch
		env.publishOn(t, "k", newThing(t, fmt.Sprintf("stuck-%d", i), i))
	}
	select {
	case <-started:
	case <-time.After(10 * time.Second):
		t.Fatal("the handler never started")
	}
	time.Sleep(200 * time.Millisecond) // let the queue fill behind it
	stopped := make(chan error, 1)
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		stopped <- sub.Stop(ctx)
	}()
	select {
	case err := <-stopped:
		assert.ErrorIs(t, err, context.DeadlineExceeded, "the stuck handler had not finished")
	case <-time.After(20 * time.Second):
		t.Fatal("Stop did not end with its context: the dispatch held the workers' lock")
	}
}
