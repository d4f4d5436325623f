package app

import (
	"context"
	"errors"
	"log/slog"
	"sync"
	"time"

	"github.com/pave-platform/pave/pkg/bus"
)

// Elector runs this instance as a standby until it takes the lease, then
// as the leader until it loses the lease, the log fences it off, or it
// stops. OnLead starts what only the leader runs (consumers, the API) and
// returns the function that stops it.
type Elector struct {
	Lease    Lease
	Bus      *bus.Bus
	Config   SchedulerConfig
	Options  Options
	Instance string
	Runners  RunnerClock
	Log      *slog.Logger
	// Renew is how often the leader renews the lease; Poll how often a
	// standby tries to take it.
	Renew, Poll time.Duration
	OnLead      func(ctx context.Context, l *Leader) (stop func(context.Context) error, err error)

	mu      sync.Mutex
	current *Leader
	// terms counts the terms this instance led; full is the stand-down
	// delay after the log refused appends (0: the log takes them).
	terms int
	full  time.Duration
}

// Full-log stand-down: the first wait, doubling up to the last.
const (
	fullBackoffMin = time.Second
	fullBackoffMax = 30 * time.Second
)

// Terms is how many times this instance became leader.
func (e *Elector) Terms() int {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.terms
}

// StandingDown says why this instance does not campaign now: its log is
// full. Empty when it campaigns.
func (e *Elector) StandingDown() string {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.full > 0 && e.current == nil {
		return "the scheduler log (EVT_SCHEDULER) is full; standing down until it takes appends again"
	}
	return ""
}

// Current is the leader this instance runs, or nil when it is a standby.
func (e *Elector) Current() *Leader {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.current
}

// Run campaigns until ctx ends.
func (e *Elector) Run(ctx context.Context) {
	for ctx.Err() == nil {
		ok, err := e.Lease.TryAcquire(ctx)
		if err != nil && ctx.Err() == nil {
			e.Log.Warn("scheduler lease", "error", err)
		}
		if !ok {
			select {
			case <-ctx.Done():
			case <-time.After(e.Poll):
			}
			continue
		}
		e.lead(ctx)
	}
}

// lead rebuilds from the log and runs the leader while the lease holds.
func (e *Elector) lead(ctx context.Context) {
	term := e.Lease.Term()
	log := e.Log.With("term", term)
	lctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var wg sync.WaitGroup
	wg.Go(func() {
		defer cancel()
		t := time.NewTicker(e.Renew)
		defer t.Stop()
		for {
			select {
			case <-lctx.Done():
				return
			case <-t.C:
				if err := e.Lease.Renew(lctx); err != nil {
					if lctx.Err() == nil {
						log.Warn("scheduler: lease lost; stepping down", "error", err)
					}
					return
				}
			}
		}
	})
	start := time.Now()
	l, replayed, err := Rebuild(lctx, e.Bus, e.Config, e.Options, e.Instance, term, e.Runners, log)
	if err != nil {
		log.Error("scheduler: rebuild from the log failed; giving the lease up", "error", err)
		cancel()
		wg.Wait()
		e.giveUp(ctx)
		return
	}
	log.Info("scheduler: leading", "replayed", replayed, "rebuild", time.Since(start).Round(time.Millisecond))
	e.mu.Lock()
	e.current = l
	e.terms++
	e.mu.Unlock()
	stop, err := e.OnLead(lctx, l)
	if err == nil {
		err = l.Run(lctx, replayed)
	}
	e.mu.Lock()
	e.current = nil
	e.mu.Unlock()
	cancel()
	if stop != nil {
		sctx, scancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
		if serr := stop(sctx); serr != nil {
			log.Warn("scheduler: stopping leader parts", "error", serr)
		}
		scancel()
	}
	wg.Wait()
	e.mu.Lock()
	switch {
	case errors.Is(err, ErrLogFull):
		// Campaigning again at once would crash-loop: elect, replay,
		// fail the first append. Stand down, longer each time.
		e.full = min(max(2*e.full, fullBackoffMin), fullBackoffMax)
		log.Error("scheduler: the log is full; standing down (make room in EVT_SCHEDULER: see docs/operations.md)",
			"error", err, "retry_in", e.full)
	default:
		e.full = 0
	}
	wait := e.full
	e.mu.Unlock()
	switch {
	case errors.Is(err, ErrFenced):
		log.Warn("scheduler: another leader appended to the log; standing by", "error", err)
	case err != nil && !errors.Is(err, ErrLogFull):
		log.Error("scheduler: leader stopped", "error", err)
	}
	e.giveUp(ctx)
	if wait > 0 {
		select {
		case <-ctx.Done():
		case <-time.After(wait):
		}
	}
}

func (e *Elector) giveUp(ctx context.Context) {
	rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 2*time.Second)
	defer cancel()
	if err := e.Lease.Release(rctx); err != nil {
		e.Log.Debug("scheduler: release lease", "error", err)
	}
	if ctx.Err() == nil {
		// Let another instance take over before campaigning again.
		select {
		case <-ctx.Done():
		case <-time.After(e.Poll):
		}
	}
}
