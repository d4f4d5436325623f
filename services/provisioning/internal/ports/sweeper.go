package ports

import (
	"context"
	"log/slog"
	"time"

	"github.com/pave-platform/pave/pkg/service"
	"github.com/pave-platform/pave/services/provisioning/internal/app"
)

// Sweeper is the orphan sweep s as a loop of the service's runtime: one
// pass every interval (> 0), the first after one interval.
func Sweeper(s *app.Sweep, interval time.Duration, log *slog.Logger) service.Loop {
	return periodic("sweep", interval, func(ctx context.Context) {
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
	})
}

// TombstoneSweeper removes the ledger's tombstones past their retention,
// every interval.
func TombstoneSweeper(t *app.Tombstones, interval time.Duration, log *slog.Logger) service.Loop {
	return periodic("ledger tombstone sweep", interval, func(ctx context.Context) {
		n, err := t.Sweep(ctx)
		if n > 0 {
			log.InfoContext(ctx, "ledger tombstones past their retention removed", "removed", n)
		}
		if err != nil && ctx.Err() == nil {
			log.ErrorContext(ctx, "ledger tombstone sweep", "error", err)
		}
	})
}

// DriftSweeper is the credential drift sweep d as a loop, every interval (> 0).
func DriftSweeper(d *app.Drift, interval time.Duration, log *slog.Logger) service.Loop {
	return periodic("credential drift sweep", interval, func(ctx context.Context) {
		found, err := d.Run(ctx)
		for _, f := range found {
			log.WarnContext(ctx, "credential drift", "driver", f.Driver, "resource", f.ResourceID,
				"environment", f.EnvironmentID, "kind", f.Kind, "login", f.Name, "remediated", f.Remediated, "error", f.Err)
		}
		if err != nil && ctx.Err() == nil {
			log.ErrorContext(ctx, "credential drift sweep", "error", err)
		}
	})
}

// periodic bounds a pass by its interval, and by at least a minute. The
// pass logs what it found itself.
func periodic(name string, interval time.Duration, pass func(ctx context.Context)) service.Loop {
	return service.Loop{Name: name, Every: interval, Timeout: max(interval, time.Minute),
		Pass: func(ctx context.Context) error { pass(ctx); return nil }}
}
