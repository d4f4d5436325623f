package runner

import (
	"log/slog"

	"go.uber.org/fx"

	"github.com/pave-platform/pave/pkg/bus"
	"github.com/pave-platform/pave/pkg/platformfx"
)

// Name of the runner's module, streams and subjects.
const Name = "runner"

// Module runs a runner (`pave runner`) on the platform's bus, configured
// from PAVE_RUNNER_* variables.
var Module = fx.Module(Name,
	fx.Provide(fx.Private, LoadConfig),
	fx.Provide(newFx),
	fx.Invoke(func(lc fx.Lifecycle, r *Runner) {
		lc.Append(fx.StartStopHook(r.Start, r.Stop))
	}),
)

type deps struct {
	fx.In
	Bus *bus.Bus
	SO  bus.StreamOptions
	Cfg Config
	MW  platformfx.Middleware `optional:"true"`
	Log *slog.Logger
}

func newFx(d deps) (*Runner, error) {
	return New(d.Bus, d.SO, d.Cfg, d.Log.With("service", Name), WithMiddleware(d.MW...))
}
