package rpc

import (
	"context"

	"github.com/nats-io/nats.go"
	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/trace"
)

// An API call carries the caller's trace in W3C traceparent/tracestate
// NATS headers, so the trace of an HTTP request continues in the service
// that answers it. Both ends read the otel globals that otelfx installs.
const tracerName = "github.com/pave-platform/pave/pkg/rpc"

// headerCarrier adapts NATS message headers for a propagator.
type headerCarrier map[string][]string

func (h headerCarrier) Get(key string) string {
	if v := h[key]; len(v) > 0 {
		return v[0]
	}
	return ""
}

func (h headerCarrier) Set(key, value string) { h[key] = []string{value} }

func (h headerCarrier) Keys() []string {
	keys := make([]string, 0, len(h))
	for k := range h {
		keys = append(keys, k)
	}
	return keys
}

var _ propagation.TextMapCarrier = headerCarrier{}

// startClient opens the caller's span and writes it into msg's headers.
func startClient(ctx context.Context, msg *nats.Msg) (context.Context, trace.Span) {
	ctx, span := otel.GetTracerProvider().Tracer(tracerName).Start(ctx, "call "+msg.Subject,
		trace.WithSpanKind(trace.SpanKindClient),
		trace.WithAttributes(attribute.String("rpc.system", "nats"), attribute.String("rpc.method", msg.Subject)))
	if msg.Header == nil {
		msg.Header = nats.Header{}
	}
	otel.GetTextMapPropagator().Inject(ctx, headerCarrier(msg.Header))
	return ctx, span
}

// startServer opens the answering service's span, a child of the span
// the request carries.
func startServer(ctx context.Context, service, subject string, headers map[string][]string) (context.Context, trace.Span) {
	ctx = otel.GetTextMapPropagator().Extract(ctx, headerCarrier(headers))
	return otel.GetTracerProvider().Tracer(tracerName).Start(ctx, service+" "+subject,
		trace.WithSpanKind(trace.SpanKindServer),
		trace.WithAttributes(attribute.String("rpc.system", "nats"), attribute.String("rpc.service", service),
			attribute.String("rpc.method", subject)))
}
