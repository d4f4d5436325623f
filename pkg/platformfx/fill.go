package platformfx

import (
	"context"
	"errors"
	"log/slog"
	"time"

	"go.opentelemetry.io/otel/metric"
	"go.uber.org/fx"

	"github.com/pave-platform/pave/pkg/bus"
	"github.com/pave-platform/pave/pkg/config"
	"github.com/pave-platform/pave/pkg/httpfx"
)

// FillConfig sets when a stream counts as filling (alert, metric,
// readiness warning) and as full (writes refused with 503 before they
// change anything), and how often the streams are read.
type FillConfig struct {
	WarnRatio   float64       `env:"PAVE_STREAM_WARN_RATIO" envDefault:"0.8"`
	RefuseRatio float64       `env:"PAVE_STREAM_REFUSE_RATIO" envDefault:"0.95"`
	Interval    time.Duration `env:"PAVE_STREAM_FILL_INTERVAL" envDefault:"15s"`
}

// Validate names the variable that is out of range.
func (c FillConfig) Validate() error {
	var errs []error
	if c.WarnRatio <= 0 || c.WarnRatio >= 1 {
		errs = append(errs, config.Invalidf("PAVE_STREAM_WARN_RATIO", "must be between 0 and 1 exclusive, got %g", c.WarnRatio))
	}
	if c.RefuseRatio <= c.WarnRatio || c.RefuseRatio > 1 {
		errs = append(errs, config.Invalidf("PAVE_STREAM_REFUSE_RATIO",
			"must be above PAVE_STREAM_WARN_RATIO (%g) and at most 1, got %g", c.WarnRatio, c.RefuseRatio))
	}
	if c.Interval < time.Second {
		errs = append(errs, config.Invalidf("PAVE_STREAM_FILL_INTERVAL", "must be at least 1s, got %s", c.Interval))
	}
	return errors.Join(errs...)
}

// LoadFillOptions reads FillConfig.
func LoadFillOptions() (bus.FillOptions, error) {
	var c FillConfig
	if err := config.Load(&c); err != nil {
		return bus.FillOptions{}, err
	}
	return bus.FillOptions{Interval: c.Interval, Warn: c.WarnRatio, Refuse: c.RefuseRatio}, nil
}

// NewFillMonitor runs the process's stream fill monitor, started after
// the core streams are declared and stopped with the process.
func NewFillMonitor(lc fx.Lifecycle, b *bus.Bus, o bus.FillOptions, mp metric.MeterProvider, log *slog.Logger) (*bus.FillMonitor, error) {
	m, err := bus.NewFillMonitor(b, o, mp, log.With("component", "stream-fill"))
	if err != nil {
		return nil, err
	}
	lc.Append(fx.StartStopHook(m.Start, m.Stop))
	return m, nil
}

// FillReadiness puts the streams that are filling in /readyz's warnings;
// a full stream does not make the process unready (reads still work, and
// writes answer 503 naming the stream).
func FillReadiness(m *bus.FillMonitor) httpfx.ReadinessCheck {
	return httpfx.ReadinessCheck{Name: "streams", Check: func(context.Context) error { return nil }, Warnings: m.Warnings}
}
