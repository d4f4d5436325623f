package bus_test

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/cloudevents/sdk-go/v2/event"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/pave-platform/pave/pkg/bus"
)

// The server is stopped and started again while concurrent publishers
// send 10,000 events. Every event whose publish was acknowledged must be
// delivered, and its effect (a claim on the event id, as services do) must
// be applied exactly once even though deliveries repeat.
func TestNoLossAcrossServerRestart(t *testing.T) {
	if testing.Short() {
		t.Skip("long: 10,000 events across a server restart")
	}
	env := newEnv(t)
	ctx := context.Background()
	effects, err := env.js.CreateOrUpdateKeyValue(ctx, jetstream.KeyValueConfig{Bucket: "test_effects", Storage: jetstream.FileStorage})
	require.NoError(t, err)

	var invocations, applied atomic.Int64
	spec := env.spec("restart-server")
	spec.Concurrency = 8
	spec.AckWait = 5 * time.Second
	spec.MaxDeliver = 100
	env.subscribe(t, spec, func(ctx context.Context, e event.Event) error {
		invocations.Add(1)
		_, err := effects.Create(ctx, bus.DedupeKey(e.ID()), []byte(e.ID()))
		if errors.Is(err, jetstream.ErrKeyExists) {
			return nil // applied by an earlier delivery
		}
		if err == nil {
			applied.Add(1)
		}
		return err
	})

	const publishers, perPublisher = 8, 1250
	var acked sync.Map
	var ackedN, failedN atomic.Int64
	restarted := make(chan struct{})
	var wg sync.WaitGroup
	for p := range publishers {
		wg.Go(func() {
			for i := range perPublisher {
				id := fmt.Sprintf("p%d-%04d", p, i)
				pctx, cancel := context.WithTimeout(ctx, 60*time.Second)
				err := env.bus.PublishOn(pctx, fmt.Sprintf("pave.evt.test.thing.p%d", p), newThing(t, id, i))
				cancel()
				if err != nil {
					failedN.Add(1)
					continue
				}
				acked.Store(id, true)
				ackedN.Add(1)
			}
		})
	}
	go func() {
		defer close(restarted)
		for ackedN.Load() < 3000 {
			time.Sleep(5 * time.Millisecond)
		}
		env.srv.Restart(t)
	}()
	wg.Wait()
	<-restarted

	total := int(ackedN.Load())
	t.Logf("acknowledged %d of %d events", total, publishers*perPublisher)
	require.Greater(t, total, 3000)
	// The wait gives up with the list of what is missing below.
	// An effect whose write landed while its call failed (the restart) is
	// applied by a later delivery that finds the key: count the keys.
	assert.Eventually(t, func() bool {
		st, err := effects.Status(ctx)
		return err == nil && int(st.Values()) >= total
	}, 90*time.Second, 100*time.Millisecond, "acknowledged events still without their effect")

	var missing []string
	acked.Range(func(k, _ any) bool {
		if _, err := effects.Get(ctx, bus.DedupeKey(k.(string))); err != nil {
			missing = append(missing, k.(string))
		}
		return true
	})
	if len(missing) > 0 {
		info, err := env.js.Stream(ctx, spec.Stream)
		state := fmt.Sprint(err)
		if err == nil {
			state = fmt.Sprintf("%+v", info.CachedInfo().State)
		}
		sort.Strings(missing)
		t.Errorf("%d of %d acknowledged events have no effect (applied %d, invocations %d); first: %v; stream %s",
			len(missing), total, applied.Load(), invocations.Load(), missing[:min(len(missing), 10)], state)
	}
	// A publish that errored may still have landed; it is applied at most once too.
	assert.LessOrEqual(t, applied.Load(), int64(total)+failedN.Load(), "an effect was applied twice")
	t.Logf("handler invocations %d for %d events (repeats absorbed: %d)", invocations.Load(), total, invocations.Load()-int64(total))
}
