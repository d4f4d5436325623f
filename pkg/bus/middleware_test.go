package bus_test

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/cloudevents/sdk-go/v2/event"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"

	"github.com/pave-platform/pave/pkg/bus"
)

// A span open around Publish continues in the handler: the trace crosses
// the bus in the traceparent extension.
func TestTracingCarriesTheTraceAcrossTheBus(t *testing.T) {
	env := newEnv(t)
	spans := tracetest.NewSpanRecorder()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(spans))
	var mu sync.Mutex
	var seen trace.SpanContext
	sub, err := env.bus.Subscribe(context.Background(), env.spec("trace"), func(ctx context.Context, _ event.Event) error {
		mu.Lock()
		defer mu.Unlock()
		seen = trace.SpanContextFromContext(ctx)
		return nil
	}, bus.Tracing(tp))
	require.NoError(t, err)
	t.Cleanup(func() { _ = sub.Stop(context.Background()) })

	ctx, span := tp.Tracer("test").Start(context.Background(), "http request")
	env.publishOn(t, "a", newThing(t, "traced", 1))
	require.NoError(t, env.bus.PublishOn(ctx, "pave.evt.test.thing.a", newThing(t, "traced-2", 2)))
	span.End()

	require.Eventually(t, func() bool {
		mu.Lock()
		defer mu.Unlock()
		return seen.TraceID() == span.SpanContext().TraceID()
	}, 5*time.Second, 10*time.Millisecond)
	var handle sdktrace.ReadOnlySpan
	for _, s := range spans.Ended() {
		if s.Name() == "handle "+testType && s.Parent().TraceID() == span.SpanContext().TraceID() {
			handle = s
		}
	}
	require.NotNil(t, handle, "a consumer span child of the publisher's span")
	assert.Equal(t, span.SpanContext().SpanID(), handle.Parent().SpanID())
	assert.Equal(t, trace.SpanKindConsumer, handle.SpanKind())
}

func TestMetricsCountOutcomes(t *testing.T) {
	reader := sdkmetric.NewManualReader()
	mp := sdkmetric.NewMeterProvider(sdkmetric.WithReader(reader))
	mw, err := bus.Metrics(mp)
	require.NoError(t, err)
	outcomes := []error{nil, nil, errors.New("busy"), bus.Permanent(errors.New("bad"))}
	for _, out := range outcomes {
		h := bus.Chain(func(context.Context, event.Event) error { return out }, mw)
		_ = h(context.Background(), newThing(t, "m", 1))
	}
	var rm metricdata.ResourceMetrics
	require.NoError(t, reader.Collect(context.Background(), &rm))
	got := map[string]int64{}
	for _, sm := range rm.ScopeMetrics {
		for _, m := range sm.Metrics {
			if m.Name != "pave_bus_handled" {
				continue
			}
			for _, dp := range m.Data.(metricdata.Sum[int64]).DataPoints {
				o, _ := dp.Attributes.Value("outcome")
				got[o.AsString()] += dp.Value
			}
		}
	}
	assert.Equal(t, map[string]int64{"ok": 2, "retry": 1, "rejected": 1}, got)
}
