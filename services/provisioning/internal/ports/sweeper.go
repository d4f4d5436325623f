package ports

import (
	"context"
	"log/slog"
	"time"

	"github.com/pave-platform/pave/services/provisioning/internal/app"
)

// Periodic runs one pass every interval until stopped: the orphan sweep
// and the credential drift sweep.
type Periodic struct {
	pass     func(ctx context.Context)
	interval time.Duration
	cancel   context.CancelFunc
	done     chan struct{}
}

// NewSweeper runs the orphan sweep s every interval (> 0).
func NewSweeper(s *app.Sweep, interval time.Duration, log *slog.Logger) *Periodic {
	return &Periodic{interval: interval, pass: func(ctx context.Context) {
		orphans, err := s.Run(ctx)
		for _, o := range orphans {
			if o.Err != nil {
				log.WarnContext(ctx, "orphan not removed", "driver", o.Driver, "external_id", o.ExternalID, "error", o.Err)
				continue
			}
			log.WarnContext(ctx, "orphan found", "driver", o.Driver, "external_id", o.ExternalID, "removed", o.Removed)
		}
		if err != nil && ctx.Err() == nil {
			log.ErrorContext(ctx, "sweep", "error", err)
		}
	}}
}

// NewDriftSweeper runs the credential drift sweep d every interval (> 0).
func NewDriftSweeper(d *app.Drift, interval time.Duration, log *slog.Logger) *Periodic {
	return &Periodic{interval: interval, pass: func(ctx context.Context) {
		found, err := d.Run(ctx)
		for _, f := range found {
			log.WarnContext(ctx, "credential drift", "driver", f.Driver, "resource", f.ResourceID,
				"environment", f.EnvironmentID, "kind", f.Kind, "login", f.Name, "remediated", f.Remediated, "error", f.Err)
		}
		if err != nil && ctx.Err() == nil {
			log.ErrorContext(ctx, "credential drift sweep", "error", err)
		}
	}}
}

// Start launches the loop; the first pass runs after one interval.
func (p *Periodic) Start() {
	ctx, cancel := context.WithCancel(context.Background())
	p.cancel, p.done = cancel, make(chan struct{})
	go p.loop(ctx)
}

// Stop ends the loop, cancelling a pass in progress, and waits for it.
func (p *Periodic) Stop(ctx context.Context) error {
	if p.cancel == nil {
		return nil
	}
	p.cancel()
	select {
	case <-p.done:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

func (p *Periodic) loop(ctx context.Context) {
	defer close(p.done)
	t := time.NewTicker(p.interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			passCtx, cancel := context.WithTimeout(ctx, max(p.interval, time.Minute))
			p.pass(passCtx)
			cancel()
		}
	}
}
