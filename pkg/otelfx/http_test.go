package otelfx_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/propagation"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"
	"go.uber.org/fx"
	"go.uber.org/fx/fxtest"

	"github.com/pave-platform/pave/pkg/otelfx"
)

// A span processor given to the module's group sees the process's spans,
// and HTTPHandler's server span continues the trace the caller sends.
func TestHTTPHandlerContinuesTheCallersTraceIntoTheProcessorGroup(t *testing.T) {
	rec := tracetest.NewSpanRecorder()
	var tp trace.TracerProvider
	app := fxtest.New(t, otelfx.Module,
		fx.Provide(otelfx.AsSpanProcessor(func() sdktrace.SpanProcessor { return rec })),
		fx.Populate(&tp))
	app.RequireStart()
	defer app.RequireStop()

	var inner trace.SpanContext
	srv := httptest.NewServer(otelfx.HTTPHandler("gateway", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		inner = trace.SpanContextFromContext(r.Context())
		w.WriteHeader(http.StatusTeapot)
	})))
	defer srv.Close()

	ctx, caller := tp.Tracer("test").Start(context.Background(), "caller")
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, srv.URL+"/v1/things", nil)
	require.NoError(t, err)
	otel.GetTextMapPropagator().Inject(ctx, propagation.HeaderCarrier(req.Header))
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	resp.Body.Close()
	caller.End()

	var server sdktrace.ReadOnlySpan
	for _, s := range rec.Ended() {
		if s.Name() == "POST gateway" {
			server = s
		}
	}
	require.NotNil(t, server, "the request's span reached the group's processor")
	assert.Equal(t, caller.SpanContext().TraceID(), server.SpanContext().TraceID())
	assert.Equal(t, caller.SpanContext().SpanID(), server.Parent().SpanID())
	assert.Equal(t, trace.SpanKindServer, server.SpanKind())
	assert.Equal(t, server.SpanContext().SpanID(), inner.SpanID(), "the handler runs in the span")
	assert.Contains(t, server.Attributes(), attribute.Int("http.response.status_code", http.StatusTeapot))
}
