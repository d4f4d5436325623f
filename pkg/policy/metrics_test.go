package policy_test

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"

	"github.com/pave-platform/pave/pkg/policy"
)

func TestDecisionLatencyIsRecordedByOutcomeAndPath(t *testing.T) {
	reader := sdkmetric.NewManualReader()
	m, err := policy.NewMetrics(sdkmetric.NewMeterProvider(sdkmetric.WithReader(reader)))
	require.NoError(t, err)

	ctx := context.Background()
	m.Observe(ctx, 20*time.Microsecond, true, policy.PathInProcess)
	m.Observe(ctx, 3*time.Millisecond, false, policy.PathNATS)
	var none *policy.Metrics
	none.Observe(ctx, time.Millisecond, true, policy.PathNATS) // records nothing, no panic
	var rm metricdata.ResourceMetrics
	require.NoError(t, reader.Collect(ctx, &rm))
	counts := map[string]uint64{}
	for _, sm := range rm.ScopeMetrics {
		for _, m := range sm.Metrics {
			if m.Name != "pave_access_decision" {
				continue
			}
			assert.Equal(t, "s", m.Unit)
			for _, dp := range m.Data.(metricdata.Histogram[float64]).DataPoints {
				o, _ := dp.Attributes.Value("outcome")
				p, _ := dp.Attributes.Value("path")
				counts[o.AsString()+"/"+p.AsString()] += dp.Count
			}
		}
	}
	assert.Equal(t, map[string]uint64{"allow/inprocess": 1, "deny/nats": 1}, counts)
}
