package adapters

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/pave-platform/pave/pkg/kv"
)

// RunnersBucket is where runners keep their heartbeats, one key per runner.
const RunnersBucket = "SCHEDULER_RUNNERS"

// RunnersBucketSpec is the bucket's declaration; the runner and the
// scheduler both declare it with this.
func RunnersBucketSpec(replicas int) kv.Spec {
	return kv.Spec{Bucket: RunnersBucket, Description: "runner heartbeats", History: 1, Replicas: replicas,
		MaxBytes: 16 << 20}
}

// RunnerWatch remembers when each runner's heartbeat last changed, by this
// process's clock, so that clock skew between machines does not matter.
type RunnerWatch struct {
	mu   sync.Mutex
	seen map[string]time.Time
	w    jetstream.KeyWatcher
	done chan struct{}
}

// WatchRunners starts watching the heartbeats bucket.
func WatchRunners(ctx context.Context, js jetstream.JetStream, replicas int) (*RunnerWatch, error) {
	b, err := kv.Declare(ctx, js, RunnersBucketSpec(replicas))
	if err != nil {
		return nil, fmt.Errorf("runners bucket: %w", err)
	}
	w, err := b.WatchAll(context.WithoutCancel(ctx))
	if err != nil {
		return nil, fmt.Errorf("watch runners: %w", err)
	}
	rw := &RunnerWatch{seen: map[string]time.Time{}, w: w, done: make(chan struct{})}
	go func() {
		defer close(rw.done)
		for e := range w.Updates() {
			if e == nil {
				continue // the end of the initial values
			}
			rw.mu.Lock()
			if e.Operation() == jetstream.KeyValuePut {
				rw.seen[e.Key()] = time.Now()
			} else {
				delete(rw.seen, e.Key())
			}
			rw.mu.Unlock()
		}
	}()
	return rw, nil
}

// LastSeen is when runner last heartbeat; false when it never did or has
// said goodbye.
func (r *RunnerWatch) LastSeen(runner string) (time.Time, bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	t, ok := r.seen[runner]
	return t, ok
}

// Stop ends the watch.
func (r *RunnerWatch) Stop() error {
	err := r.w.Stop()
	<-r.done
	return err
}
