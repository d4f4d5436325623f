package saga

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/nats-io/nats.go/jetstream"
)

const (
	// drainTimeout bounds waiting for a stopped watcher to close its channel.
	drainTimeout = 5 * time.Second
	// taskTimeout bounds one timer or outbox task, publishes included.
	taskTimeout = 30 * time.Second
	// parallelTasks bounds the due tasks run at once.
	parallelTasks = 16
)

// Launch starts the background part — crash recovery and timers — and
// returns at once. Stop ends it.
func (e *Engine) Launch() error {
	e.runMu.Lock()
	defer e.runMu.Unlock()
	if e.done != nil {
		return errors.New("launch saga engine: already launched")
	}
	ctx, cancel := context.WithCancel(context.Background())
	e.cancel, e.done = cancel, make(chan struct{})
	go func(done chan struct{}) {
		defer close(done)
		_ = e.Run(ctx)
	}(e.done)
	return nil
}

// Stop ends the background part and waits until it has stopped, or ctx ends.
func (e *Engine) Stop(ctx context.Context) error {
	e.runMu.Lock()
	cancel, done := e.cancel, e.done
	e.runMu.Unlock()
	if done == nil {
		return nil
	}
	cancel()
	select {
	case <-done:
	case <-ctx.Done():
		return fmt.Errorf("stop saga engine: %w", ctx.Err())
	}
	e.runMu.Lock()
	e.cancel, e.done = nil, nil
	e.runMu.Unlock()
	return nil
}

// Run is the background part; it returns when ctx ends. It watches the
// bucket: the initial values resume what a crash interrupted (outboxes
// are published at once, deadlines that passed fire at once), the updates
// keep the timers of every replica's sagas. Two replicas firing the same
// deadline is harmless: the second Timeout is stale by then.
func (e *Engine) Run(ctx context.Context) error {
	for ctx.Err() == nil {
		// The watcher lives until ctx ends: nats.go unsubscribes it then.
		w, err := e.kv.WatchAll(ctx)
		if err != nil {
			e.log.Warn("watch saga bucket; will retry", "error", err)
		} else {
			e.follow(ctx, w)
		}
		select {
		case <-ctx.Done():
		case <-time.After(e.retryDelay):
		}
	}
	return nil
}

// follow works the schedule until ctx ends or the watcher closes.
func (e *Engine) follow(ctx context.Context, w jetstream.KeyWatcher) {
	defer stopWatcher(w)
	updates, resumed := w.Updates(), false
	timer := time.NewTimer(0)
	defer timer.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case entry, ok := <-updates:
			if !ok {
				e.log.Warn("saga bucket watcher closed; watching again")
				return
			}
			if entry == nil {
				resumed = true
				continue
			}
			e.observe(entry, resumed)
		case <-e.sched.wake:
		case <-timer.C:
		}
		e.runDue(ctx)
		timer.Reset(e.sched.wait(e.now()))
	}
}

// observe schedules a revision seen by the watcher. Until the initial
// values are through, an outbox is left over from a crash: publish it now.
func (e *Engine) observe(entry jetstream.KeyValueEntry, resumed bool) {
	if entry.Operation() != jetstream.KeyValuePut {
		e.sched.forget(entry.Key())
		e.sent.forget(entry.Key())
		return
	}
	if endedRaw(entry.Value()) {
		// Ended: no timer, no outbox. Not decoded, so that a start costs
		// the live sagas, not every saga kept.
		e.sched.forget(entry.Key())
		e.sent.forget(entry.Key())
		return
	}
	e.decoded.Add(1)
	var inst Instance
	if err := json.Unmarshal(entry.Value(), &inst); err != nil {
		e.log.Error("undecodable saga instance", "saga", entry.Key(), "revision", entry.Revision(), "error", err)
		return
	}
	grace := e.grace
	if !resumed {
		grace = 0
	}
	e.sched.note(inst, entry.Revision(), e.now(), grace)
}

// runDue runs the due tasks of different sagas side by side, so that one
// saga whose publish waits out an outage does not hold back the others.
func (e *Engine) runDue(ctx context.Context) {
	slots := make(chan struct{}, parallelTasks)
	var wg sync.WaitGroup
	for _, t := range e.sched.take(e.now(), e.retryDelay) {
		if ctx.Err() != nil {
			break
		}
		slots <- struct{}{}
		wg.Go(func() {
			defer func() { <-slots }()
			tctx, cancel := context.WithTimeout(ctx, taskTimeout)
			defer cancel()
			e.runTask(tctx, t)
		})
	}
	wg.Wait()
}

func (e *Engine) runTask(ctx context.Context, t task) {
	if t.fire {
		if err := e.Deliver(ctx, t.id, Timeout{Deadline: t.deadline}); err != nil {
			e.log.Warn("saga timer; will retry", "saga", t.id, "deadline", t.deadline, "error", err)
			return
		}
	}
	if t.flush {
		s, err := e.load(ctx, t.id)
		if err == nil {
			err = e.flush(ctx, s.inst, true)
		}
		if err != nil {
			e.log.Warn("saga outbox; will retry", "saga", t.id, "error", err)
		}
	}
}

// stopWatcher unsubscribes and drains the updates channel, so that the
// watcher's delivery goroutine is not left blocked on a send.
func stopWatcher(w jetstream.KeyWatcher) {
	_ = w.Stop()
	timeout := time.NewTimer(drainTimeout)
	defer timeout.Stop()
	for {
		select {
		case _, ok := <-w.Updates():
			if !ok {
				return
			}
		case <-timeout.C:
			return
		}
	}
}
