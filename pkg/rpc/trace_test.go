package rpc_test

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/propagation"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"

	"github.com/pave-platform/pave/pkg/rpc"
	"github.com/pave-platform/pave/pkg/testkit"
)

// An API call continues the caller's trace in the service that answers
// it: caller span → client span → server span, and the handler's context
// holds the server span.
func TestCallCarriesTheTraceToTheHandler(t *testing.T) {
	rec := tracetest.NewSpanRecorder()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(rec))
	prevTP, prevProp := otel.GetTracerProvider(), otel.GetTextMapPropagator()
	otel.SetTracerProvider(tp)
	otel.SetTextMapPropagator(propagation.TraceContext{})
	t.Cleanup(func() {
		otel.SetTracerProvider(prevTP)
		otel.SetTextMapPropagator(prevProp)
		_ = tp.Shutdown(context.Background())
	})

	nc := testkit.NATS(t).Conn(t)
	var inHandler trace.SpanContext
	srv, err := rpc.Serve(nc, "pave-test", "0.0.1", slog.New(slog.NewTextHandler(io.Discard, nil)), rpc.Endpoint{
		Name: "things-get", Subject: "pave.test.api.things.get",
		Handler: func(ctx context.Context, _ rpc.Request) rpc.Reply {
			inHandler = trace.SpanContextFromContext(ctx)
			return rpc.OK(http.StatusOK, map[string]string{"ok": "yes"})
		},
	})
	require.NoError(t, err)
	t.Cleanup(func() { _ = srv.Stop() })

	ctx, caller := tp.Tracer("test").Start(context.Background(), "caller")
	cctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	rep, err := rpc.Call(cctx, nc, "pave.test.api.things.get", rpc.Request{})
	require.NoError(t, err)
	require.Equal(t, http.StatusOK, rep.Status)
	caller.End()

	byName := map[string]sdktrace.ReadOnlySpan{}
	require.Eventually(t, func() bool {
		for _, s := range rec.Ended() {
			byName[s.Name()] = s
		}
		return len(byName) == 3
	}, 5*time.Second, 10*time.Millisecond)
	client, server := byName["call pave.test.api.things.get"], byName["pave-test pave.test.api.things.get"]
	require.NotNil(t, client)
	require.NotNil(t, server)
	assert.Equal(t, caller.SpanContext().SpanID(), client.Parent().SpanID())
	assert.Equal(t, client.SpanContext().SpanID(), server.Parent().SpanID())
	assert.Equal(t, caller.SpanContext().TraceID(), server.SpanContext().TraceID())
	assert.Equal(t, server.SpanContext().SpanID(), inHandler.SpanID())
}
