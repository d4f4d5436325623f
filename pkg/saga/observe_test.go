package saga_test

import (
	"context"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"

	"github.com/pave-platform/pave/pkg/saga"
)

// telemetry installs an in-memory span recorder and metric reader as the
// otel globals for one test, as otelfx installs the process's providers.
func telemetry(t *testing.T) (*tracetest.SpanRecorder, *sdkmetric.ManualReader) {
	t.Helper()
	rec := tracetest.NewSpanRecorder()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(rec))
	reader := sdkmetric.NewManualReader()
	mp := sdkmetric.NewMeterProvider(sdkmetric.WithReader(reader))
	prevTP, prevMP := otel.GetTracerProvider(), otel.GetMeterProvider()
	otel.SetTracerProvider(tp)
	otel.SetMeterProvider(mp)
	t.Cleanup(func() {
		otel.SetTracerProvider(prevTP)
		otel.SetMeterProvider(prevMP)
		_ = tp.Shutdown(context.Background())
		_ = mp.Shutdown(context.Background())
	})
	return rec, reader
}

// Every command a saga publishes, whichever input emitted it, continues
// the trace of the call that started the saga, as a child of that call's
// span.
func TestSagaCommandsContinueTheTraceOfTheCallThatStartedIt(t *testing.T) {
	rec, _ := telemetry(t)
	env := newEnv(t)
	eng := env.engine(t, env.bus, def3())
	env.startWorker(t, eng)

	ctx, call := otel.Tracer("test").Start(context.Background(), "POST /v1/environments")
	require.NoError(t, eng.Start(ctx, "test", "env-1", nil))
	call.End()
	waitFor(t, eng, "env-1", saga.StatusCompleted)

	published := map[string]bool{}
	for _, s := range rec.Ended() {
		if !strings.HasPrefix(s.Name(), "saga publish ") {
			continue
		}
		assert.Equal(t, call.SpanContext().TraceID(), s.SpanContext().TraceID(), s.Name())
		assert.Equal(t, call.SpanContext().SpanID(), s.Parent().SpanID(), s.Name())
		if s.Name() == "saga publish "+typeDo {
			published[attr(s, "saga.step")] = true
		}
	}
	assert.Equal(t, map[string]bool{"a": true, "b": true, "c": true}, published, "a span for each step's command")
	// Commands are gone once handled (work queue); progress events stay.
	for _, tp := range env.streamHeader(t, "EVT_LIFECYCLE", "ce-traceparent") {
		assert.Contains(t, tp, call.SpanContext().TraceID().String(), "the event carries the trace")
	}
}

// A saga's end is recorded once, with its kind and outcome.
func TestSagaDurationIsRecordedByOutcome(t *testing.T) {
	_, reader := telemetry(t)
	env := newEnv(t)
	env.worker.decide = func(ref saga.Ref) outcome {
		if ref.ID == "env-2" && ref.Step == "c" && !ref.Compensation {
			return failPermanent
		}
		return succeed
	}
	eng := env.engine(t, env.bus, def3())
	env.startWorker(t, eng)
	ctx := context.Background()
	require.NoError(t, eng.Start(ctx, "test", "env-1", nil))
	require.NoError(t, eng.Start(ctx, "test", "env-2", nil))
	waitFor(t, eng, "env-1", saga.StatusCompleted)
	waitFor(t, eng, "env-2", saga.StatusCompensated)

	var rm metricdata.ResourceMetrics
	require.NoError(t, reader.Collect(ctx, &rm))
	counts := map[string]uint64{}
	for _, sm := range rm.ScopeMetrics {
		for _, m := range sm.Metrics {
			if m.Name != "pave_saga_duration" {
				continue
			}
			for _, dp := range m.Data.(metricdata.Histogram[float64]).DataPoints {
				kind, _ := dp.Attributes.Value(attribute.Key("saga"))
				out, _ := dp.Attributes.Value(attribute.Key("outcome"))
				counts[kind.AsString()+" "+out.AsString()] += dp.Count
			}
		}
	}
	assert.Equal(t, map[string]uint64{"test completed": 1, "test compensated": 1}, counts)
}

func attr(s sdktrace.ReadOnlySpan, key string) string {
	for _, kv := range s.Attributes() {
		if string(kv.Key) == key {
			return kv.Value.AsString()
		}
	}
	return ""
}

func TestKindDropsTemplateAndVersion(t *testing.T) {
	tests := []struct{ give, want string }{
		{"environment-create.web-service.1.0.0", "environment-create"},
		{"test", "test"},
	}
	for _, tt := range tests {
		assert.Equal(t, tt.want, saga.Kind(tt.give))
	}
}

// streamHeader lists one header of every message in a stream.
func (e *env) streamHeader(t *testing.T, stream, header string) []string {
	t.Helper()
	ctx := context.Background()
	st, err := e.js.Stream(ctx, stream)
	require.NoError(t, err)
	info, err := st.Info(ctx)
	require.NoError(t, err)
	var out []string
	for seq := info.State.FirstSeq; info.State.Msgs > 0 && seq <= info.State.LastSeq; seq++ {
		m, err := st.GetMsg(ctx, seq)
		require.NoError(t, err)
		out = append(out, m.Header.Get(header))
	}
	require.NotEmpty(t, out)
	return out
}
