// Package otelfx sets up OpenTelemetry for a Pave process: a tracer
// provider (exporting over OTLP/HTTP when an endpoint is configured), a
// meter provider read by a Prometheus /metrics handler, and the W3C trace
// context and baggage propagator. It also installs them as the otel
// globals, because instrumented libraries read those.
package otelfx

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracehttp"
	otelprom "go.opentelemetry.io/otel/exporters/prometheus"
	"go.opentelemetry.io/otel/propagation"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"

	"github.com/pave-platform/pave/pkg/config"
)

// Config names the service and says where traces go. The OTLP exporter
// reads the rest of the standard OTEL_EXPORTER_OTLP_* variables (headers,
// timeout, TLS, compression) itself.
type Config struct {
	ServiceName string `env:"OTEL_SERVICE_NAME" envDefault:"pave"`
	// OTLPEndpoint is the collector's base URL, e.g. http://otel:4318.
	// Traces are exported only when it (or OTLPTracesEndpoint) is set.
	OTLPEndpoint string `env:"OTEL_EXPORTER_OTLP_ENDPOINT"`
	// OTLPTracesEndpoint is the full traces URL, overriding OTLPEndpoint.
	OTLPTracesEndpoint string `env:"OTEL_EXPORTER_OTLP_TRACES_ENDPOINT"`
}

// Validate checks the service name and endpoint URLs.
func (c Config) Validate() error {
	var errs []error
	if c.ServiceName == "" {
		errs = append(errs, config.Invalid("OTEL_SERVICE_NAME", "must not be empty"))
	}
	errs = append(errs,
		validateEndpoint("OTEL_EXPORTER_OTLP_ENDPOINT", c.OTLPEndpoint),
		validateEndpoint("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", c.OTLPTracesEndpoint))
	return errors.Join(errs...)
}

func validateEndpoint(name, value string) error {
	if value == "" {
		return nil
	}
	u, err := url.Parse(value)
	if err != nil {
		return config.Invalid(name, err.Error())
	}
	if (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return config.Invalidf(name, "%q is not an http(s) URL", value)
	}
	return nil
}

func (c Config) exportsTraces() bool {
	return c.OTLPEndpoint != "" || c.OTLPTracesEndpoint != ""
}

// LoadConfig reads Config from the environment.
func LoadConfig() (Config, error) {
	var cfg Config
	err := config.Load(&cfg)
	return cfg, err
}

// Telemetry holds the process's providers. Shutdown flushes and stops them.
type Telemetry struct {
	TracerProvider *sdktrace.TracerProvider
	MeterProvider  *sdkmetric.MeterProvider
	Propagator     propagation.TextMapPropagator
	registry       *prometheus.Registry
}

// New builds the providers. Spans are always sampled by default (parent
// based; OTEL_TRACES_SAMPLER overrides), so logs carry trace ids even when
// nothing exports them. Metrics go to a registry of their own, served by
// MetricsHandler, next to Go runtime and process metrics.
func New(ctx context.Context, cfg Config) (*Telemetry, error) {
	res, err := resource.New(ctx,
		resource.WithTelemetrySDK(),
		resource.WithHost(),
		resource.WithFromEnv(),
		resource.WithAttributes(attribute.String("service.name", cfg.ServiceName)),
	)
	if err != nil {
		return nil, fmt.Errorf("otel resource: %w", err)
	}

	tpOpts := []sdktrace.TracerProviderOption{sdktrace.WithResource(res)}
	if cfg.exportsTraces() {
		exp, err := otlptracehttp.New(ctx)
		if err != nil {
			return nil, fmt.Errorf("otlp trace exporter: %w", err)
		}
		tpOpts = append(tpOpts, sdktrace.WithBatcher(exp))
	}

	reg := prometheus.NewRegistry()
	if err := reg.Register(collectors.NewGoCollector()); err != nil {
		return nil, fmt.Errorf("register go collector: %w", err)
	}
	if err := reg.Register(collectors.NewProcessCollector(collectors.ProcessCollectorOpts{})); err != nil {
		return nil, fmt.Errorf("register process collector: %w", err)
	}
	reader, err := otelprom.New(otelprom.WithRegisterer(reg))
	if err != nil {
		return nil, fmt.Errorf("prometheus exporter: %w", err)
	}

	return &Telemetry{
		TracerProvider: sdktrace.NewTracerProvider(tpOpts...),
		MeterProvider:  sdkmetric.NewMeterProvider(sdkmetric.WithReader(reader), sdkmetric.WithResource(res)),
		Propagator:     propagation.NewCompositeTextMapPropagator(propagation.TraceContext{}, propagation.Baggage{}),
		registry:       reg,
	}, nil
}

// MetricsHandler serves the metrics in the Prometheus exposition format.
func (t *Telemetry) MetricsHandler() http.Handler {
	return promhttp.HandlerFor(t.registry, promhttp.HandlerOpts{})
}

// SetGlobals installs the providers and propagator as the otel globals.
func (t *Telemetry) SetGlobals() {
	otel.SetTracerProvider(t.TracerProvider)
	otel.SetMeterProvider(t.MeterProvider)
	otel.SetTextMapPropagator(t.Propagator)
}

// Shutdown exports the spans still buffered, then stops both providers.
func (t *Telemetry) Shutdown(ctx context.Context) error {
	var errs []error
	if err := t.TracerProvider.Shutdown(ctx); err != nil {
		errs = append(errs, fmt.Errorf("shutdown tracer provider: %w", err))
	}
	if err := t.MeterProvider.Shutdown(ctx); err != nil {
		errs = append(errs, fmt.Errorf("shutdown meter provider: %w", err))
	}
	return errors.Join(errs...)
}
