package otelfx

import (
	"context"
	"log/slog"
	"net/http"

	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/metric"
	"go.opentelemetry.io/otel/propagation"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
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

// SpanProcessorGroup is the fx value group whose sdktrace.SpanProcessor
// values the tracer provider feeds besides its exporter: a test adds an
// in-memory recorder with AsSpanProcessor.
const SpanProcessorGroup = "otel_span_processors"

// AsSpanProcessor annotates a constructor returning an
// sdktrace.SpanProcessor so its result joins SpanProcessorGroup.
func AsSpanProcessor(f any) any {
	return fx.Annotate(f, fx.ResultTags(`group:"`+SpanProcessorGroup+`"`))
}

type telemetryParams struct {
	fx.In
	Lifecycle  fx.Lifecycle
	Config     Config
	Processors []sdktrace.SpanProcessor `group:"otel_span_processors"`
}

func newTelemetry(p telemetryParams) (*Telemetry, error) {
	// Resource detection reads only the host and environment; it has no
	// caller context to honour here.
	t, err := New(context.Background(), p.Config)
	if err != nil {
		return nil, err
	}
	for _, sp := range p.Processors {
		t.TracerProvider.RegisterSpanProcessor(sp)
	}
	lc := p.Lifecycle
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
