package bus

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/cloudevents/sdk-go/v2/event"
	"github.com/nats-io/nats.go/jetstream"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/metric"
	"go.opentelemetry.io/otel/trace"
)

// Logging logs each handled event once, at the boundary, with the
// event's identity and the outcome.
func Logging(l *slog.Logger) Middleware {
	return func(next Handler) Handler {
		return func(ctx context.Context, e event.Event) error {
			start := time.Now()
			err := next(ctx, e)
			mi, _ := Info(ctx)
			attrs := []any{
				"event_id", e.ID(), "type", e.Type(), "subject", mi.Subject,
				"deliveries", mi.Deliveries, "duration", time.Since(start),
			}
			if sc := trace.SpanContextFromContext(ctx); sc.IsValid() {
				attrs = append(attrs, "trace_id", sc.TraceID().String())
			}
			switch {
			case err == nil:
				l.DebugContext(ctx, "event handled", attrs...)
			case IsPermanent(err):
				l.ErrorContext(ctx, "event rejected", append(attrs, "error", err)...)
			default:
				l.WarnContext(ctx, "event will be retried", append(attrs, "error", err)...)
			}
			return err
		}
	}
}

// Tracing opens a consumer span for each event, a child of the span the
// event carries in its traceparent extension.
func Tracing(tp trace.TracerProvider) Middleware {
	tracer := tp.Tracer("github.com/pave-platform/pave/pkg/bus")
	return func(next Handler) Handler {
		return func(ctx context.Context, e event.Event) error {
			mi, _ := Info(ctx)
			ctx, span := tracer.Start(ctx, "handle "+e.Type(),
				trace.WithSpanKind(trace.SpanKindConsumer),
				trace.WithAttributes(
					attribute.String("messaging.system", "nats"),
					attribute.String("messaging.destination.name", mi.Subject),
					attribute.String("messaging.message.id", e.ID()),
					attribute.String("cloudevents.event_type", e.Type()),
				))
			defer span.End()
			err := next(ctx, e)
			if err != nil {
				span.RecordError(err)
				span.SetStatus(codes.Error, err.Error())
			}
			return err
		}
	}
}

// Metrics counts handled events by type and outcome and records how long
// handlers take.
func Metrics(mp metric.MeterProvider) (Middleware, error) {
	meter := mp.Meter("github.com/pave-platform/pave/pkg/bus")
	handled, err := meter.Int64Counter("pave_bus_handled",
		metric.WithDescription("events handled, by type and outcome (ok, retry, rejected)"))
	if err != nil {
		return nil, fmt.Errorf("bus metrics: %w", err)
	}
	duration, err := meter.Float64Histogram("pave_bus_handler_duration",
		metric.WithUnit("s"), metric.WithDescription("handler duration"))
	if err != nil {
		return nil, fmt.Errorf("bus metrics: %w", err)
	}
	return func(next Handler) Handler {
		return func(ctx context.Context, e event.Event) error {
			start := time.Now()
			err := next(ctx, e)
			outcome := "ok"
			if err != nil {
				outcome = "retry"
				if IsPermanent(err) {
					outcome = "rejected"
				}
			}
			attrs := metric.WithAttributes(attribute.String("type", e.Type()), attribute.String("outcome", outcome))
			handled.Add(ctx, 1, attrs)
			duration.Record(ctx, time.Since(start).Seconds(), attrs)
			return err
		}
	}, nil
}

// Dedupe skips an event whose id a previous delivery already handled to
// completion (the ack was lost, or the process died before acking), and
// records the id after the handler succeeds. The record lives in a KV
// bucket whose TTL should exceed the longest redelivery horizon.
//
// A crash between the effect and the record still redelivers; handlers
// whose effect is not idempotent must fence it themselves (KV revision or
// a unique claim on the event id), as ARCHITECTURE.md requires.
func Dedupe(kv jetstream.KeyValue) Middleware {
	return func(next Handler) Handler {
		return func(ctx context.Context, e event.Event) error {
			key := DedupeKey(e.ID())
			if _, err := kv.Get(ctx, key); err == nil {
				return nil
			} else if !errors.Is(err, jetstream.ErrKeyNotFound) {
				return fmt.Errorf("dedupe lookup %s: %w", e.ID(), err)
			}
			if err := next(ctx, e); err != nil {
				return err
			}
			// The effect is applied: ack it even if the record cannot be
			// written, rather than apply it again on the retry.
			_, _ = kv.Create(ctx, key, []byte(e.Type()))
			return nil
		}
	}
}

// DedupeKey turns an event id into a valid KV key (ids may hold any
// character; keys may not).
func DedupeKey(id string) string {
	sum := sha256.Sum256([]byte(id))
	return hex.EncodeToString(sum[:])
}
