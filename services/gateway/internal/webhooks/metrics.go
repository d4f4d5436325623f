package webhooks

import (
	"context"
	"fmt"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"
)

// Metrics is the receiver's latency histogram, exported to Prometheus as
// pave_webhook_ingest_seconds{provider,outcome}: receipt to answer, which
// for outcome="stored" is receipt to durable acknowledgement.
type Metrics struct {
	ingest metric.Float64Histogram
}

// NewMetrics registers the instruments on mp.
func NewMetrics(mp metric.MeterProvider) (*Metrics, error) {
	h, err := mp.Meter("github.com/pave-platform/pave/services/gateway/webhooks").Float64Histogram("pave_webhook_ingest",
		metric.WithUnit("s"),
		metric.WithDescription("webhook receipt to answer (for outcome=stored: to durable acknowledgement), by provider and outcome"),
		metric.WithExplicitBucketBoundaries(0.001, 0.0025, 0.005, 0.01, 0.02, 0.05, 0.1, 0.25, 0.5, 1, 2.5))
	if err != nil {
		return nil, fmt.Errorf("webhook metrics: %w", err)
	}
	return &Metrics{ingest: h}, nil
}

func (m *Metrics) record(ctx context.Context, provider, outcome string, d time.Duration) {
	if m == nil {
		return
	}
	m.ingest.Record(context.WithoutCancel(ctx), d.Seconds(),
		metric.WithAttributes(attribute.String("provider", provider), attribute.String("outcome", outcome)))
}
