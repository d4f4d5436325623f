package ports

import (
	"context"
	"log/slog"
	"time"

	"github.com/pave-platform/pave/services/provisioning/internal/app"
)

// Sweeper runs the orphan sweep every interval until stopped.
type Sweeper struct {
	sweep    *app.Sweep
	interval time.Duration
	log      *slog.Logger
	cancel   context.CancelFunc
	done     chan struct{}
}

// NewSweeper runs s every interval (> 0).
func NewSweeper(s *app.Sweep, interval time.Duration, log *slog.Logger) *Sweeper {
	return &Sweeper{sweep: s, interval: interval, log: log}
}

// Start launches the loop; the first sweep runs after one interval.
func (s *Sweeper) Start() {
	ctx, cancel := context.WithCancel(context.Background())
	s.cancel, s.done = cancel, make(chan struct{})
	go s.loop(ctx)
}

// Stop ends the loop, cancelling a sweep in progress, and waits for it.
func (s *Sweeper) Stop(ctx context.Context) error {
	if s.cancel == nil {
		return nil
	}
	s.cancel()
	select {
	case <-s.done:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

func (s *Sweeper) loop(ctx context.Context) {
	defer close(s.done)
	t := time.NewTicker(s.interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			s.runOnce(ctx)
		}
	}
}

func (s *Sweeper) runOnce(ctx context.Context) {
	ctx, cancel := context.WithTimeout(ctx, max(s.interval, time.Minute))
	defer cancel()
	orphans, err := s.sweep.Run(ctx)
	for _, o := range orphans {
		if o.Err != nil {
			s.log.WarnContext(ctx, "orphan not removed", "driver", o.Driver, "external_id", o.ExternalID, "error", o.Err)
			continue
		}
		s.log.WarnContext(ctx, "orphan found", "driver", o.Driver, "external_id", o.ExternalID, "removed", o.Removed)
	}
	if err != nil {
		s.log.ErrorContext(ctx, "sweep", "error", err)
	}
}
