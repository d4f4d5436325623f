package bus_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/cloudevents/sdk-go/v2/event"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"

	"github.com/pave-platform/pave/pkg/bus"
	"github.com/pave-platform/pave/pkg/schema"
)

// A dead letter shows in the DLQ depth that every process reports, and in
// the count of the process that made it, by source stream and consumer.
func TestDeadLettersShowInMetrics(t *testing.T) {
	env := newEnv(t)
	reader := sdkmetric.NewManualReader()
	mp := sdkmetric.NewMeterProvider(sdkmetric.WithReader(reader))
	t.Cleanup(func() { _ = mp.Shutdown(context.Background()) })
	reg, err := schema.Default()
	require.NoError(t, err)
	require.NoError(t, reg.Register(testType, []byte(testSchema)))
	b, err := bus.New(env.nc, reg, schema.SubjectFor, bus.WithMeterProvider(mp))
	require.NoError(t, err)

	assert.Equal(t, map[string]int64{"pave_bus_dlq_messages": 0}, dlqFigures(t, reader), "an empty DLQ reads 0")
	sub, err := b.Subscribe(context.Background(), env.spec("metrics"), func(context.Context, event.Event) error {
		return bus.Permanent(errors.New("never valid"))
	})
	require.NoError(t, err)
	t.Cleanup(func() { _ = sub.Stop(context.Background()) })
	env.publishOn(t, "a", newThing(t, "bad", 1))
	require.Eventually(t, func() bool { return len(env.deadLetters(t)) == 1 }, 5*time.Second, 10*time.Millisecond)

	assert.Equal(t, map[string]int64{
		"pave_bus_dlq_messages":                                  1,
		"pave_bus_dead_letters stream=EVT_TEST consumer=metrics": 1,
	}, dlqFigures(t, reader))
}

// dlqFigures collects the bus's dead-letter metrics as "name labels" → value.
func dlqFigures(t *testing.T, reader *sdkmetric.ManualReader) map[string]int64 {
	t.Helper()
	var rm metricdata.ResourceMetrics
	require.NoError(t, reader.Collect(context.Background(), &rm))
	out := map[string]int64{}
	for _, sm := range rm.ScopeMetrics {
		for _, m := range sm.Metrics {
			var points []metricdata.DataPoint[int64]
			switch d := m.Data.(type) {
			case metricdata.Gauge[int64]:
				points = d.DataPoints
			case metricdata.Sum[int64]:
				points = d.DataPoints
			}
			for _, p := range points {
				key := m.Name
				if s, ok := p.Attributes.Value("stream"); ok {
					c, _ := p.Attributes.Value("consumer")
					key += " stream=" + s.AsString() + " consumer=" + c.AsString()
				}
				out[key] += p.Value
			}
		}
	}
	return out
}
