package service_test

import (
	"context"
	"errors"
	"log/slog"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/cloudevents/sdk-go/v2/event"
	"github.com/nats-io/nats.go"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/pave-platform/pave/pkg/bus"
	"github.com/pave-platform/pave/pkg/events"
	"github.com/pave-platform/pave/pkg/rpc"
	"github.com/pave-platform/pave/pkg/schema"
	"github.com/pave-platform/pave/pkg/service"
	"github.com/pave-platform/pave/pkg/testkit"
)

type stopLog struct {
	mu    sync.Mutex
	steps []string
}

func (l *stopLog) add(s string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.steps = append(l.steps, s)
}

func (l *stopLog) has(s string) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, x := range l.steps {
		if x == s {
			return true
		}
	}
	return false
}

func newBus(t *testing.T) (*nats.Conn, *bus.Bus) {
	t.Helper()
	nc := testkit.NATS(t).Conn(t)
	reg, err := schema.Default()
	require.NoError(t, err)
	b, err := bus.New(nc, reg, schema.SubjectFor)
	require.NoError(t, err)
	return nc, b
}

// Stop runs in the documented order: the rpc endpoints stop answering
// and the loops end while a consumer's handler is still in flight; the
// handler finishes; then the closers run, last registered first.
func TestRuntimeStopsInTheDocumentedOrder(t *testing.T) {
	nc, b := newBus(t)
	ctx := context.Background()
	opts := bus.DefaultStreamOptions()
	require.NoError(t, bus.EnsureStreams(ctx, b.JetStream(), append(bus.CoreStreams(opts), bus.ServiceStreams("platform", opts)...)...))

	var log stopLog
	var middlewareSaw atomic.Int32
	mw := func(next bus.Handler) bus.Handler {
		return func(ctx context.Context, e event.Event) error { middlewareSaw.Add(1); return next(ctx, e) }
	}
	rt := service.NewRuntime(b, []bus.Middleware{mw}, slog.New(slog.DiscardHandler))
	inFlight, release := make(chan struct{}), make(chan struct{})
	rt.Handle(bus.ConsumerSpec{Stream: "EVT_PLATFORM", Durable: "runtime-test", AckWait: time.Minute},
		func(context.Context, event.Event) error {
			close(inFlight)
			<-release
			log.add("handler done")
			return nil
		})
	rt.ServeRPC(nc, "pave-runtime-test", rpc.Endpoint{Name: "ping", Subject: "pave.runtime-test.ping",
		Handler: func(context.Context, rpc.Request) rpc.Reply { return rpc.OK(200, "pong") }})
	var passes atomic.Int32
	rt.Every(service.Loop{Name: "test loop", Every: 10 * time.Millisecond, AtStart: true, Pass: func(ctx context.Context) error {
		passes.Add(1)
		<-ctx.Done()
		log.add("loop stopped")
		return nil
	}})
	rt.OnStop(func(context.Context) error { log.add("first closer"); return nil })
	rt.OnStop(func(context.Context) error { log.add("second closer"); return nil })
	require.NoError(t, rt.Start(ctx))

	rep, err := rpc.Call(ctx, nc, "pave.runtime-test.ping", rpc.Request{})
	require.NoError(t, err)
	assert.Equal(t, 200, rep.Status)
	require.Eventually(t, func() bool { return passes.Load() == 1 }, 10*time.Second, 10*time.Millisecond, "the loop's first pass should run at start")
	e, err := bus.NewEvent("runtime-1", "pave/test", events.TypeServiceStarted, events.ServiceStarted{
		Service: "cost", Instance: "i", Version: "1", StartedAt: time.Now().UTC()})
	require.NoError(t, err)
	require.NoError(t, b.Publish(ctx, e))
	select {
	case <-inFlight:
	case <-time.After(20 * time.Second):
		t.Fatal("the consumer's handler never ran")
	}

	stopped := make(chan error, 1)
	go func() {
		sctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		defer cancel()
		stopped <- rt.Stop(sctx)
	}()
	require.Eventually(t, func() bool { return log.has("loop stopped") }, 10*time.Second, 10*time.Millisecond,
		"the loop should stop while the handler is still in flight")
	cctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	_, err = rpc.Call(cctx, nc, "pave.runtime-test.ping", rpc.Request{})
	assert.True(t, errors.Is(err, nats.ErrNoResponders), "rpc endpoints stop before the consumers drain, got %v", err)
	close(release)
	require.NoError(t, <-stopped)
	assert.Equal(t, []string{"loop stopped", "handler done", "second closer", "first closer"}, log.steps)
	assert.Equal(t, int32(1), middlewareSaw.Load(), "the runtime's middleware wraps its consumers")
}

// A start that fails after registering parts leaves none running.
func TestRuntimeHookStopsWhatAFailedStartRegistered(t *testing.T) {
	_, b := newBus(t)
	rt := service.NewRuntime(b, nil, slog.New(slog.DiscardHandler))
	var closed atomic.Bool
	hook := rt.Hook(func(context.Context) error {
		rt.OnStop(func(context.Context) error { closed.Store(true); return nil })
		return errors.New("store unavailable")
	})
	err := hook.OnStart(context.Background())
	require.ErrorContains(t, err, "store unavailable")
	assert.True(t, closed.Load(), "what the failed start registered is closed")
}

// A loop whose ticks pile up while a pass runs does not run another pass
// once the runtime stops: a tick ready at the same moment as the stop
// must lose.
func TestRuntimeRunsNoPassAfterStop(t *testing.T) {
	_, b := newBus(t)
	for range 20 {
		rt := service.NewRuntime(b, nil, slog.New(slog.DiscardHandler))
		var passes atomic.Int32
		started := make(chan struct{}, 1)
		rt.Every(service.Loop{Name: "slow", Every: time.Millisecond, AtStart: true, Pass: func(ctx context.Context) error {
			passes.Add(1)
			select {
			case started <- struct{}{}:
			default:
			}
			<-ctx.Done()
			return nil
		}})
		require.NoError(t, rt.Start(context.Background()))
		<-started
		time.Sleep(5 * time.Millisecond) // ticks fire while the pass blocks
		require.NoError(t, rt.Stop(context.Background()))
		require.Equal(t, int32(1), passes.Load(), "a pass ran after the runtime stopped")
	}
}
