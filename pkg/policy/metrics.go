package policy

import (
	"context"
	"fmt"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"
)

// Paths of a decision, for the latency metric.
const (
	PathInProcess = "inprocess"
	PathNATS      = "nats"
)

// decisionBuckets span a cached answer (a microsecond) to a NATS answer
// waiting for its audit record (milliseconds).
var decisionBuckets = []float64{1e-6, 2.5e-6, 5e-6, 1e-5, 2.5e-5, 5e-5, 1e-4, 2.5e-4, 5e-4, 1e-3, 2.5e-3, 5e-3, 0.01, 0.05, 0.25}

// Metrics records decision latency in
// pave_access_decision_seconds{outcome, path}. A nil *Metrics records
// nothing.
type Metrics struct {
	h     metric.Float64Histogram
	attrs map[[2]string]metric.MeasurementOption
}

// NewMetrics registers the decision latency histogram with mp (the
// process's meter provider).
func NewMetrics(mp metric.MeterProvider) (*Metrics, error) {
	meter := mp.Meter("github.com/pave-platform/pave/pkg/policy")
	h, err := meter.Float64Histogram("pave_access_decision", metric.WithUnit("s"),
		metric.WithDescription("time to decide an authorization request, by outcome (allow, deny) and path (inprocess in the gateway, nats for pave.access.authorize including its audit record)"),
		metric.WithExplicitBucketBoundaries(decisionBuckets...))
	if err != nil {
		return nil, fmt.Errorf("decision latency histogram: %w", err)
	}
	m := &Metrics{h: h, attrs: map[[2]string]metric.MeasurementOption{}}
	for _, o := range []string{"allow", "deny"} {
		for _, p := range []string{PathInProcess, PathNATS} {
			m.attrs[[2]string{o, p}] = metric.WithAttributeSet(attribute.NewSet(
				attribute.String("outcome", o), attribute.String("path", p)))
		}
	}
	return m, nil
}

// Observe records one decision's latency.
func (m *Metrics) Observe(ctx context.Context, d time.Duration, allowed bool, path string) {
	if m == nil {
		return
	}
	outcome := "deny"
	if allowed {
		outcome = "allow"
	}
	opt, ok := m.attrs[[2]string{outcome, path}]
	if !ok {
		opt = metric.WithAttributes(attribute.String("outcome", outcome), attribute.String("path", path))
	}
	m.h.Record(ctx, d.Seconds(), opt)
}
