package saga

import (
	"context"

	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/trace"
)

// A saga keeps the trace of the call that started it: the W3C trace
// context is stored with the instance, and everything the saga publishes
// is a child of it, whatever delivered the input that emitted it (an
// answer, a timer, another service's event, a replica resuming an
// outbox). So one environment operation is one trace from the request to
// every driver call.
var traceFormat = propagation.TraceContext{}

const tracerName = "github.com/pave-platform/pave/pkg/saga"

// traceOf is the trace context of ctx's span, or nil when there is none.
func traceOf(ctx context.Context) map[string]string {
	if !trace.SpanContextFromContext(ctx).IsValid() {
		return nil
	}
	c := propagation.MapCarrier{}
	traceFormat.Inject(ctx, c)
	return c
}

// publishSpan opens the span of one published effect: a child of the
// saga's stored trace when it has one, else of ctx's span.
func publishSpan(ctx context.Context, inst Instance, eff Effect) (context.Context, trace.Span) {
	if len(inst.Trace) > 0 {
		ctx = traceFormat.Extract(ctx, propagation.MapCarrier(inst.Trace))
	}
	attrs := []attribute.KeyValue{
		attribute.String("saga.id", inst.ID),
		attribute.String("saga.definition", inst.Definition),
		attribute.String("messaging.message.id", eff.ID),
	}
	if eff.Ref != nil {
		attrs = append(attrs, attribute.String("saga.step", eff.Ref.Step))
	}
	return otel.GetTracerProvider().Tracer(tracerName).Start(ctx, "saga publish "+eff.Type,
		trace.WithSpanKind(trace.SpanKindProducer), trace.WithAttributes(attrs...))
}
