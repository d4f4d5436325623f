package otelfx

import (
	"context"
	"log/slog"
	"net/http"

	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/metric"
	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/trace"
	"go.uber.org/fx"
)

// MetricsHandlerName is the fx name of the /metrics http.Handler that
// Module provides: consume it with `name:"metrics"`.
const MetricsHandlerName = "metrics"

// Module provides Config, trace.TracerProvider, metric.MeterProvider,
// propagation.TextMapPropagator and the /metrics http.Handler named
// "metrics"; sets the otel globals (and routes otel's internal errors to
// the *slog.Logger, when there is one); and shuts the providers down on
// stop, flushing buffered spans.
var Module = fx.Module("otelfx",
	fx.Provide(LoadConfig),
	fx.Provide(fx.Private, newTelemetry),
	fx.Provide(
		func(t *Telemetry) trace.TracerProvider { return t.TracerProvider },
		func(t *Telemetry) metric.MeterProvider { return t.MeterProvider },
		func(t *Telemetry) propagation.TextMapPropagator { return t.Propagator },
		fx.Annotate(
			func(t *Telemetry) http.Handler { return t.MetricsHandler() },
			fx.ResultTags(`name:"`+MetricsHandlerName+`"`),
		),
	),
	fx.Invoke(setGlobals),
)

func newTelemetry(lc fx.Lifecycle, cfg Config) (*Telemetry, error) {
	// Resource detection reads only the host and environment; it has no
	// caller context to honour here.
	t, err := New(context.Background(), cfg)
	if err != nil {
		return nil, err
	}
	lc.Append(fx.StopHook(t.Shutdown))
	return t, nil
}

type globalsParams struct {
	fx.In
	Telemetry *Telemetry
	Logger    *slog.Logger `optional:"true"`
}

func setGlobals(p globalsParams) {
	p.Telemetry.SetGlobals()
	if p.Logger != nil {
		logger := p.Logger
		otel.SetErrorHandler(otel.ErrorHandlerFunc(func(err error) {
			logger.Warn("opentelemetry", "error", err)
		}))
	}
}
