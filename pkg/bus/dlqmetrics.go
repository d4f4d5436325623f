package bus

import (
	"context"
	"fmt"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"
)

// dlqMetrics are the dead-letter figures: how many messages the DLQ
// stream holds (read from the stream at each collection, so every process
// reports the same cluster-wide depth), and how many this process
// dead-lettered, by source stream and consumer.
type dlqMetrics struct {
	deadLettered metric.Int64Counter
}

// WithMeterProvider registers the bus's dead-letter metrics on mp:
// pave_bus_dlq_messages (gauge) and pave_bus_dead_letters (counter).
func WithMeterProvider(mp metric.MeterProvider) Option {
	return func(b *Bus) { b.meter = mp }
}

// dlqDepthTimeout bounds the stream info request behind one collection.
const dlqDepthTimeout = 2 * time.Second

func (b *Bus) registerMetrics() error {
	if b.meter == nil {
		return nil
	}
	meter := b.meter.Meter("github.com/pave-platform/pave/pkg/bus")
	var err error
	if b.dlq.deadLettered, err = meter.Int64Counter("pave_bus_dead_letters",
		metric.WithDescription("messages this process copied to the DLQ stream, by source stream and consumer")); err != nil {
		return fmt.Errorf("bus metrics: %w", err)
	}
	_, err = meter.Int64ObservableGauge("pave_bus_dlq_messages",
		metric.WithDescription("messages held in the DLQ stream: dead letters not yet handled and purged"),
		metric.WithInt64Callback(func(ctx context.Context, o metric.Int64Observer) error {
			ctx, cancel := context.WithTimeout(ctx, dlqDepthTimeout)
			defer cancel()
			s, err := b.js.Stream(ctx, StreamDLQ)
			if err != nil {
				return nil // not declared yet, or NATS is away: no figure this time
			}
			info, err := s.Info(ctx)
			if err != nil {
				return nil
			}
			o.Observe(int64(info.State.Msgs))
			return nil
		}))
	if err != nil {
		return fmt.Errorf("bus metrics: %w", err)
	}
	return nil
}

func (b *Bus) countDeadLetter(ctx context.Context, info MessageInfo) {
	if b.dlq.deadLettered == nil {
		return
	}
	b.dlq.deadLettered.Add(ctx, 1, metric.WithAttributes(
		attribute.String("stream", info.Stream), attribute.String("consumer", info.Consumer)))
}
