package runner

import (
	"context"
	"time"

	"github.com/cloudevents/sdk-go/v2/event"

	"github.com/pave-platform/pave/pkg/bus"
	"github.com/pave-platform/pave/pkg/events"
)

const (
	// runAckWait bounds one run command's handling: a fork and a publish.
	runAckWait = 10 * time.Second
	// runMaxDeliver is high because a command bounced by a runner whose
	// slots just filled up counts a delivery; only a command no runner
	// could take for that long is dead-lettered.
	runMaxDeliver = 1000
	// pauseTimeout bounds the drain of the subscription when the slots
	// fill up; the handler in flight returns within runAckWait.
	pauseTimeout = runAckWait + 5*time.Second
)

// consumerSpec is the pool's shared consumer. Commands are acked right
// after the start, so MaxAckPending bounds how many starts are in flight
// across the pool's runners, not how many jobs run; it is the same for
// every runner of the pool, since they share the consumer. Each runner
// starts up to its slots (or 128) jobs at once, since admissions come in
// bursts when capacity frees up; a command that finds its runner full goes
// back for another runner of the pool.
func (r *Runner) consumerSpec() bus.ConsumerSpec {
	concurrency := 128
	if r.cfg.Slots > 0 {
		concurrency = min(r.cfg.Slots, concurrency)
	}
	return bus.ConsumerSpec{
		Stream: "CMD_RUNNER", Durable: "runner-" + r.cfg.Pool,
		FilterSubjects: []string{events.RunnerSubjectRun + r.cfg.Pool},
		MaxDeliver:     runMaxDeliver, AckWait: runAckWait, MaxAckPending: 256, Concurrency: concurrency,
		Backoff: bus.Backoff{Base: 100 * time.Millisecond, Max: time.Second},
	}
}

// intake subscribes while a slot is free and drains the subscription when
// the slots are full, so that a busy runner does not pull commands at
// all. The handler's own slot check (claim) is what guarantees the limit;
// pausing keeps a busy runner from bouncing commands. On ctx's end the
// subscription is left in r.sub for Stop to drain with its deadline.
func (r *Runner) intake(ctx, rctx context.Context) {
	sub := bus.NewRouter(r.bus, r.mw...)
	sub.Handle(r.consumerSpec(), func(hctx context.Context, e event.Event) error { return r.handleRun(hctx, rctx, e) })
	for {
		if !r.awaitSlots(ctx, r.freeLocked) {
			return
		}
		if err := sub.Start(ctx); err != nil {
			if ctx.Err() != nil {
				return
			}
			r.log.Warn("subscribe to run commands; retrying", "error", err)
			select {
			case <-ctx.Done():
				return
			case <-time.After(time.Second):
			}
			continue
		}
		r.mu.Lock()
		r.sub = sub
		r.mu.Unlock()
		if !r.awaitSlots(ctx, func() bool { return !r.freeLocked() }) {
			return
		}
		r.takeSub()
		pctx, cancel := context.WithTimeout(context.Background(), pauseTimeout)
		if err := sub.Stop(pctx); err != nil {
			r.log.Warn("pause run commands", "error", err)
		}
		cancel()
	}
}

// awaitSlots waits until cond, called under r.mu, holds; false when ctx
// ends first.
func (r *Runner) awaitSlots(ctx context.Context, cond func() bool) bool {
	for {
		r.mu.Lock()
		ok := cond()
		r.mu.Unlock()
		if ok {
			return true
		}
		select {
		case <-ctx.Done():
			return false
		case <-r.changed:
		}
	}
}
