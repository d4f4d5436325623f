package bus

import (
	"context"

	"github.com/cloudevents/sdk-go/v2/event"
	"github.com/cloudevents/sdk-go/v2/types"
	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/trace"
)

// eventCarrier lets an OpenTelemetry propagator read and write the
// CloudEvents distributed-tracing extension (traceparent, tracestate).
type eventCarrier struct{ e *event.Event }

var _ propagation.TextMapCarrier = eventCarrier{}

func (c eventCarrier) Get(key string) string {
	v, ok := c.e.Extensions()[key]
	if !ok {
		return ""
	}
	s, _ := types.ToString(v)
	return s
}

func (c eventCarrier) Set(key, value string) { c.e.SetExtension(key, value) }

func (c eventCarrier) Keys() []string {
	keys := make([]string, 0, len(c.e.Extensions()))
	for k := range c.e.Extensions() {
		keys = append(keys, k)
	}
	return keys
}

// injectTrace carries the caller's span into the event unless the event
// already names a trace (it was received from elsewhere and is forwarded).
func injectTrace(ctx context.Context, p propagation.TextMapPropagator, e *event.Event) {
	if !trace.SpanContextFromContext(ctx).IsValid() {
		return
	}
	if _, ok := e.Extensions()["traceparent"]; ok {
		return
	}
	p.Inject(ctx, eventCarrier{e: e})
}

// ExtractTrace returns ctx with the remote span the event carries.
func ExtractTrace(ctx context.Context, p propagation.TextMapPropagator, e event.Event) context.Context {
	return p.Extract(ctx, eventCarrier{e: &e})
}
