package bus_test

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/cloudevents/sdk-go/v2/event"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/pave-platform/pave/pkg/bus"
)

// What a consumer took and did not finish is read back in stream order,
// past the ack floor; a range longer than asked for is refused.
func TestUnacknowledgedReadsWhatWasTakenAndNotFinished(t *testing.T) {
	env := newEnv(t)
	ctx := context.Background()
	got, err := env.bus.Unacknowledged(ctx, "EVT_TEST", "pending", 10)
	require.NoError(t, err)
	assert.Empty(t, got, "a consumer that does not exist has nothing pending")

	release := make(chan struct{})
	var once sync.Once
	unstick := func() { once.Do(func() { close(release) }) }
	var mu sync.Mutex
	started := 0
	spec := env.spec("pending")
	spec.Concurrency = 1
	env.subscribe(t, spec, func(_ context.Context, e event.Event) error {
		mu.Lock()
		started++
		mu.Unlock()
		if dataOf(t, e).N >= 2 {
			<-release
		}
		return nil
	})
	t.Cleanup(unstick)
	want := ids("pend", 5)
	for i, id := range want {
		env.publishOn(t, "a", newThing(t, id, i))
	}
	require.Eventually(t, func() bool { mu.Lock(); defer mu.Unlock(); return started == 3 },
		10*time.Second, 10*time.Millisecond)
	require.Eventually(t, func() bool {
		es, err := env.bus.Unacknowledged(ctx, "EVT_TEST", "pending", 10)
		if err != nil || len(es) != 3 {
			return false
		}
		var got []string
		for _, e := range es {
			got = append(got, e.ID())
		}
		return assert.ObjectsAreEqual(want[2:], got)
	}, 10*time.Second, 20*time.Millisecond, "the three taken after the ack floor, in order")

	_, err = env.bus.Unacknowledged(ctx, "EVT_TEST", "pending", 2)
	assert.ErrorIs(t, err, bus.ErrPendingTooMany)
	unstick()
}
