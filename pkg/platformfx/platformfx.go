// Package platformfx wires what every Pave process needs before its
// services: config, logging, telemetry, NATS, the event bus, and the HTTP
// server for health, readiness and metrics.
package platformfx

import (
	"context"
	"errors"
	"log/slog"
	"time"

	"github.com/nats-io/nats.go"
	"go.opentelemetry.io/otel/metric"
	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/trace"
	"go.uber.org/fx"

	"github.com/pave-platform/pave/pkg/bus"
	"github.com/pave-platform/pave/pkg/config"
	"github.com/pave-platform/pave/pkg/httpfx"
	"github.com/pave-platform/pave/pkg/logfx"
	"github.com/pave-platform/pave/pkg/natsfx"
	"github.com/pave-platform/pave/pkg/otelfx"
	"github.com/pave-platform/pave/pkg/redisfx"
	"github.com/pave-platform/pave/pkg/schema"
)

// App is a whole process: the platform, the given service modules, and
// last the HTTP server, so that it starts serving after every service has
// started and stops serving (readiness off) before any service stops.
func App(services ...fx.Option) fx.Option {
	return fx.Options(Module, fx.Options(services...), httpfx.Module)
}

// Module is the platform every service module runs on, without the HTTP
// server (see App).
var Module = fx.Options(
	logfx.Module,
	logfx.WithFxLogger(),
	fx.StopTimeout(StopTimeout),
	otelfx.Module,
	natsfx.Module,
	redisfx.Module,
	fx.Module("bus",
		fx.Provide(LoadStreamConfig, schema.Default, NewBus, NewMiddleware),
		fx.Invoke(declareCoreStreams),
		fx.Provide(LoadFillOptions, NewFillMonitor, httpfx.AsReadinessCheck(FillReadiness)),
		fx.Invoke(func(*bus.FillMonitor) {}), // every process watches, with or without an HTTP server
	),
)

// StopTimeout bounds a graceful stop: HTTP drain, consumer drain,
// publisher flush and connection close all fit inside it.
const StopTimeout = 45 * time.Second

// StreamConfig sets the limits every stream is declared with.
type StreamConfig struct {
	Replicas        int           `env:"PAVE_STREAM_REPLICAS" envDefault:"1"`
	MaxBytes        int64         `env:"PAVE_STREAM_MAX_BYTES" envDefault:"1073741824"`
	DuplicateWindow time.Duration `env:"PAVE_STREAM_DUPLICATE_WINDOW" envDefault:"10m"`
	// EventRetention is the MaxAge of the event streams (see
	// bus.StreamOptions). AUDIT has none: the access service archives and
	// purges it (PAVE_AUDIT_RETENTION, services/access/audit).
	EventRetention time.Duration `env:"PAVE_EVENT_RETENTION" envDefault:"720h"`
}

// Validate names the variable that is out of range.
func (c StreamConfig) Validate() error {
	var errs []error
	if c.Replicas != 1 && c.Replicas != 3 && c.Replicas != 5 {
		errs = append(errs, config.Invalidf("PAVE_STREAM_REPLICAS", "must be 1, 3 or 5, got %d", c.Replicas))
	}
	if c.MaxBytes < 1<<20 {
		errs = append(errs, config.Invalid("PAVE_STREAM_MAX_BYTES", "must be at least 1048576 (1 MiB)"))
	}
	if c.DuplicateWindow < time.Minute {
		errs = append(errs, config.Invalid("PAVE_STREAM_DUPLICATE_WINDOW", "must be at least 1m"))
	}
	errs = append(errs, retentionError("PAVE_EVENT_RETENTION", c.EventRetention, c.DuplicateWindow, false))
	return errors.Join(errs...)
}

// retentionError checks a stream's MaxAge: at least an hour and longer
// than the duplicate window (the server refuses a shorter one), or 0
// (keep everything) where that is allowed.
func retentionError(name string, d, duplicates time.Duration, zeroKeeps bool) error {
	switch {
	case d == 0 && zeroKeeps:
		return nil
	case d < time.Hour:
		if zeroKeeps {
			return config.Invalidf(name, "must be 0 (keep every record) or at least 1h, got %s", d)
		}
		return config.Invalidf(name, "must be at least 1h, got %s", d)
	case d < duplicates:
		return config.Invalidf(name, "must be at least PAVE_STREAM_DUPLICATE_WINDOW (%s), got %s", duplicates, d)
	}
	return nil
}

// LoadStreamConfig reads StreamConfig and returns the stream options.
func LoadStreamConfig() (bus.StreamOptions, error) {
	var c StreamConfig
	if err := config.Load(&c); err != nil {
		return bus.StreamOptions{}, err
	}
	return bus.StreamOptions{Replicas: c.Replicas, MaxBytes: c.MaxBytes, Duplicates: c.DuplicateWindow,
		EventRetention: c.EventRetention}, nil
}

// NewBus builds the bus over the process's connection and schema registry.
// The bus reports its dead-letter metrics to mp.
func NewBus(nc *nats.Conn, reg *schema.Registry, log *slog.Logger, prop propagation.TextMapPropagator, mp metric.MeterProvider) (*bus.Bus, error) {
	return bus.New(nc, reg, schema.SubjectFor, bus.WithLogger(log), bus.WithPropagator(prop), bus.WithMeterProvider(mp))
}

// Middleware is the standard handler chain: tracing outermost, so logs
// carry the trace id, then metrics, then logging.
type Middleware []bus.Middleware

// NewMiddleware builds the standard chain.
func NewMiddleware(tp trace.TracerProvider, mp metric.MeterProvider, log *slog.Logger) (Middleware, error) {
	m, err := bus.Metrics(mp)
	if err != nil {
		return nil, err
	}
	return Middleware{bus.Tracing(tp), m, bus.Logging(log)}, nil
}

func declareCoreStreams(lc fx.Lifecycle, b *bus.Bus, o bus.StreamOptions) {
	lc.Append(fx.StartHook(func(ctx context.Context) error {
		return bus.EnsureStreams(ctx, b.JetStream(), bus.CoreStreams(o)...)
	}))
}
