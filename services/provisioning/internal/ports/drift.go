package ports

import (
	"context"
	"log/slog"
	"time"

	"github.com/pave-platform/pave/services/provisioning/internal/app"
)

// DriftSweeper runs the credential drift sweep every interval until stopped.
type DriftSweeper struct {
	drift    *app.Drift
	interval time.Duration
	log      *slog.Logger
	cancel   context.CancelFunc
	done     chan struct{}
}

// NewDriftSweeper runs d every interval (> 0).
func NewDriftSweeper(d *app.Drift, interval time.Duration, log *slog.Logger) *DriftSweeper {
	return &DriftSweeper{drift: d, interval: interval, log: log}
}

// Start launches the loop; the first sweep runs after one interval.
func (s *DriftSweeper) Start() {
	ctx, cancel := context.WithCancel(context.Background())
	s.cancel, s.done = cancel, make(chan struct{})
	go s.loop(ctx)
}

// Stop ends the loop, cancelling a sweep in progress, and waits for it.
func (s *DriftSweeper) Stop(ctx context.Context) error {
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

func (s *DriftSweeper) loop(ctx context.Context) {
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

func (s *DriftSweeper) runOnce(ctx context.Context) {
	ctx, cancel := context.WithTimeout(ctx, max(s.interval, time.Minute))
	defer cancel()
	found, err := s.drift.Run(ctx)
	for _, f := range found {
		s.log.WarnContext(ctx, "credential drift", "driver", f.Driver, "resource", f.ResourceID,
			"environment", f.EnvironmentID, "kind", f.Kind, "login", f.Name, "remediated", f.Remediated, "error", f.Err)
	}
	if err != nil && ctx.Err() == nil {
		s.log.ErrorContext(ctx, "credential drift sweep", "error", err)
	}
}
