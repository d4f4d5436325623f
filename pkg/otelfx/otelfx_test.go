package otelfx_test

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/metric"
	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/trace"
	"go.uber.org/fx"
	"go.uber.org/fx/fxtest"
	"go.uber.org/goleak"

	"github.com/pave-platform/pave/pkg/config"
	"github.com/pave-platform/pave/pkg/otelfx"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

func newTelemetry(t *testing.T, cfg otelfx.Config) *otelfx.Telemetry {
	t.Helper()
	tel, err := otelfx.New(context.Background(), cfg)
	require.NoError(t, err)
	t.Cleanup(func() { assert.NoError(t, tel.Shutdown(context.Background())) })
	return tel
}

func scrape(t *testing.T, h http.Handler) string {
	t.Helper()
	srv := httptest.NewServer(h)
	defer srv.Close()
	client := &http.Client{Transport: &http.Transport{DisableKeepAlives: true}}
	resp, err := client.Get(srv.URL + "/metrics")
	require.NoError(t, err)
	defer resp.Body.Close()
	require.Equal(t, http.StatusOK, resp.StatusCode)
	body, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	return string(body)
}

func TestConfig(t *testing.T) {
	var cfg otelfx.Config
	require.NoError(t, config.LoadFrom(&cfg, nil))
	assert.Equal(t, otelfx.Config{ServiceName: "pave"}, cfg)

	err := config.LoadFrom(&cfg, map[string]string{"OTEL_EXPORTER_OTLP_ENDPOINT": "otel:4318"})
	assert.ErrorContains(t, err, "config: OTEL_EXPORTER_OTLP_ENDPOINT: ")
}

func TestCounterIsServedOnMetrics(t *testing.T) {
	tel := newTelemetry(t, otelfx.Config{ServiceName: "pave-test"})
	counter, err := tel.MeterProvider.Meter("pave/test").Int64Counter("pave_test_events")
	require.NoError(t, err)

	counter.Add(context.Background(), 3)

	body := scrape(t, tel.MetricsHandler())
	assert.Regexp(t, `(?m)^pave_test_events_total\{.*\} 3$`, body)
	assert.Contains(t, body, "go_goroutines")
}

func TestSpanHasTraceIDWithoutExporter(t *testing.T) {
	tel := newTelemetry(t, otelfx.Config{ServiceName: "pave-test"})

	_, span := tel.TracerProvider.Tracer("pave/test").Start(context.Background(), "work")
	span.End()

	sc := span.SpanContext()
	assert.True(t, sc.TraceID().IsValid())
	assert.True(t, sc.IsSampled())
}

func TestSpansExportedToOTLPEndpointOnShutdown(t *testing.T) {
	var posts atomic.Int32
	collector := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodPost && r.URL.Path == "/v1/traces" {
			posts.Add(1)
		}
		w.Header().Set("Content-Type", "application/x-protobuf")
	}))
	defer collector.Close()
	t.Setenv("OTEL_EXPORTER_OTLP_ENDPOINT", collector.URL)
	var cfg otelfx.Config
	require.NoError(t, config.Load(&cfg))
	tel, err := otelfx.New(context.Background(), cfg)
	require.NoError(t, err)

	_, span := tel.TracerProvider.Tracer("pave/test").Start(context.Background(), "work")
	span.End()
	require.NoError(t, tel.Shutdown(context.Background()))

	assert.Equal(t, int32(1), posts.Load())
}

func TestModule(t *testing.T) {
	var in struct {
		fx.In
		Tracer     trace.TracerProvider
		Meter      metric.MeterProvider
		Propagator propagation.TextMapPropagator
		Metrics    http.Handler `name:"metrics"`
	}
	app := fxtest.New(t, otelfx.Module, fx.Populate(&in))
	app.RequireStart()
	defer app.RequireStop()

	assert.Same(t, in.Tracer, otel.GetTracerProvider())
	assert.ElementsMatch(t, []string{"traceparent", "tracestate", "baggage"}, otel.GetTextMapPropagator().Fields())
	_, span := in.Tracer.Tracer("pave/test").Start(context.Background(), "work")
	span.End()
	assert.True(t, span.SpanContext().IsValid())

	gauge, err := in.Meter.Meter("pave/test").Int64Gauge("pave_test_depth")
	require.NoError(t, err)
	gauge.Record(context.Background(), 7)
	assert.Regexp(t, `(?m)^pave_test_depth\{.*\} 7$`, scrape(t, in.Metrics))
}
