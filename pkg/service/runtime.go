package service

import (
	"context"
	"errors"
	"log/slog"
	"sync"
	"time"

	"github.com/nats-io/nats.go"
	"go.uber.org/fx"

	"github.com/pave-platform/pave/pkg/bus"
	"github.com/pave-platform/pave/pkg/rpc"
)

// Runtime owns what a running service started — its rpc endpoints, its
// periodic loops, its consumers (a bus.Router with the platform's
// middleware) and what must close after them — and stops them in one
// fixed order:
//
//	(readiness off: the HTTP server stops first, see platformfx.App)
//	1. rpc endpoints stop: no new requests
//	2. periodic loops and tasks are cancelled and waited for
//	3. consumers drain: in-flight handlers finish, buffered messages go back
//	4. closers run, last registered first (watches, engines, connections)
//	(then service.stopped is published and the connection drains and flushes)
//
// A service registers its parts while it starts (see Hook); nothing it
// registers is left running when start fails or the process stops.
type Runtime struct {
	router *bus.Router
	log    *slog.Logger

	mu      sync.Mutex
	rpcs    []func() (Stopper, error)
	servers []Stopper
	loops   []Loop
	tasks   []func(context.Context)
	closers []func(context.Context) error
	cancel  context.CancelFunc
	wg      sync.WaitGroup
}

// Stopper is a running endpoint: an rpc.Server or a micro.Service.
type Stopper interface{ Stop() error }

// Loop is a pass a service runs periodically (a sweep, a reconcile, an
// evaluation) until it stops.
type Loop struct {
	// Name is what a failed pass is logged as.
	Name string
	// Every is the interval between passes.
	Every time.Duration
	// AtStart runs the first pass at once rather than after one interval.
	AtStart bool
	// Timeout bounds one pass; zero: the pass runs until the service stops.
	Timeout time.Duration
	// Pass does the work; an error is logged (unless stopping) and the
	// loop goes on.
	Pass func(ctx context.Context) error
}

// NewRuntime is the runtime of one service; mw is the platform's standard
// middleware (platformfx.Middleware), applied to every consumer.
func NewRuntime(b *bus.Bus, mw []bus.Middleware, log *slog.Logger) *Runtime {
	return &Runtime{router: bus.NewRouter(b, mw...), log: log}
}

// Router is the service's consumer router.
func (r *Runtime) Router() *bus.Router { return r.router }

// Handle registers a consumer; it starts with the runtime.
func (r *Runtime) Handle(spec bus.ConsumerSpec, h bus.Handler) { r.router.Handle(spec, h) }

// Serve records an endpoint the service started, to stop it first.
func (r *Runtime) Serve(s Stopper) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.servers = append(r.servers, s)
}

// ServeRPC registers eps as the rpc service name; it is served once the
// consumers have started.
func (r *Runtime) ServeRPC(nc *nats.Conn, name string, eps ...rpc.Endpoint) {
	r.Endpoint(func() (Stopper, error) { return rpc.Serve(nc, name, Version, r.log, eps...) })
}

// Endpoint registers an endpoint that serve starts once the consumers
// have started (a micro service of the service's own).
func (r *Runtime) Endpoint(serve func() (Stopper, error)) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.rpcs = append(r.rpcs, serve)
}

// Every registers a periodic loop; it starts with the runtime.
func (r *Runtime) Every(l Loop) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.loops = append(r.loops, l)
}

// Go registers a task that runs from start until the service stops (an
// election, a timer wheel); it stops with the loops: its context ends and
// the runtime waits for it to return.
func (r *Runtime) Go(task func(ctx context.Context)) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.tasks = append(r.tasks, task)
}

// OnStop registers what to close after the consumers have drained.
func (r *Runtime) OnStop(f func(context.Context) error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.closers = append(r.closers, f)
}

// Start starts the consumers, then the rpc endpoints, then the loops and
// tasks.
func (r *Runtime) Start(ctx context.Context) error {
	if err := r.router.Start(ctx); err != nil {
		return err
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, serve := range r.rpcs {
		s, err := serve()
		if err != nil {
			return err
		}
		r.servers = append(r.servers, s)
	}
	r.rpcs = nil
	lctx, cancel := context.WithCancel(context.Background())
	r.cancel = cancel
	for _, l := range r.loops {
		r.wg.Go(func() { r.run(lctx, l) })
	}
	for _, task := range r.tasks {
		r.wg.Go(func() { task(lctx) })
	}
	return nil
}

func (r *Runtime) run(ctx context.Context, l Loop) {
	t := time.NewTicker(l.Every)
	defer t.Stop()
	if !l.AtStart && !wait(ctx, t) {
		return
	}
	for {
		r.pass(ctx, l)
		if !wait(ctx, t) {
			return
		}
	}
}

func (r *Runtime) pass(ctx context.Context, l Loop) {
	if l.Timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, l.Timeout)
		defer cancel()
	}
	if err := l.Pass(ctx); err != nil && ctx.Err() == nil {
		r.log.WarnContext(ctx, l.Name, "error", err)
	}
}

// wait waits for the next tick. A tick that is ready when the context ends
// does not count: select picks at random among ready cases, and a stopped
// loop must not run one more pass.
func wait(ctx context.Context, t *time.Ticker) bool {
	select {
	case <-ctx.Done():
		return false
	case <-t.C:
		return ctx.Err() == nil
	}
}

// Stop stops everything in the order documented on Runtime. It can be
// called after a failed or partial start.
func (r *Runtime) Stop(ctx context.Context) error {
	r.mu.Lock()
	servers, closers, cancel := r.servers, r.closers, r.cancel
	r.servers, r.closers, r.cancel = nil, nil, nil
	r.mu.Unlock()
	var errs []error
	for _, s := range servers {
		errs = append(errs, s.Stop())
	}
	if cancel != nil {
		cancel()
	}
	errs = append(errs, waitGroup(ctx, &r.wg))
	errs = append(errs, r.router.Stop(ctx))
	for i := len(closers) - 1; i >= 0; i-- {
		errs = append(errs, closers[i](ctx))
	}
	return errors.Join(errs...)
}

func waitGroup(ctx context.Context, wg *sync.WaitGroup) error {
	done := make(chan struct{})
	go func() { wg.Wait(); close(done) }()
	select {
	case <-done:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// Hook is the fx hook of a service whose start is build: build opens the
// service's stores and registers its parts on r, then r starts the
// consumers and loops. If either fails, whatever was registered is stopped
// before the error is returned. On stop, r stops.
func (r *Runtime) Hook(build func(context.Context) error) fx.Hook {
	return fx.StartStopHook(func(ctx context.Context) error {
		err := build(ctx)
		if err == nil {
			err = r.Start(ctx)
		}
		if err != nil {
			return errors.Join(err, r.Stop(ctx))
		}
		return nil
	}, r.Stop)
}
