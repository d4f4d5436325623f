package saga

import (
	"context"
	"strings"

	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"
)

// metrics records how long sagas take to end, by outcome. The engine
// reads the global meter provider (otelfx installs the process's), so
// creating an engine needs no extra wiring.
type metrics struct {
	duration metric.Float64Histogram
}

// durationBuckets span a saga that ends in a second to one that waits
// half an hour in a queue.
var durationBuckets = []float64{0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600, 1800}

func newMetrics() metrics {
	meter := otel.GetMeterProvider().Meter("github.com/pave-platform/pave/pkg/saga")
	// An instrument error leaves a no-op instrument; metrics never stop a saga.
	d, _ := meter.Float64Histogram("pave_saga_duration", metric.WithUnit("s"),
		metric.WithDescription("time from a saga's start to its end, by saga kind and outcome (completed, compensated, compensation_failed)"),
		metric.WithExplicitBucketBoundaries(durationBuckets...))
	return metrics{duration: d}
}

// ended records next's duration when the write that stored it is the one
// that made the saga end. Compare-and-set makes that write unique, so
// each ending is counted once across replicas; a compensated saga that a
// hanging answer reopens is counted again when it ends again.
func (m metrics) ended(ctx context.Context, prev, next Instance) {
	if m.duration == nil || !next.Status.Terminal() || prev.Status.Terminal() || next.CreatedAt.IsZero() {
		return
	}
	end := next.UpdatedAt
	if end.IsZero() {
		return
	}
	m.duration.Record(ctx, end.Sub(next.CreatedAt).Seconds(), metric.WithAttributes(
		attribute.String("saga", Kind(next.Definition)),
		attribute.String("outcome", string(next.Status)),
	))
}

// Kind is a definition name without what follows its first dot:
// environment-create.web-service.1.0.0 → environment-create. Metrics carry
// kinds, so their series do not grow with templates and versions.
func Kind(definition string) string {
	kind, _, _ := strings.Cut(definition, ".")
	return kind
}
