// Package httpfx runs the process's one HTTP server: the routes that
// services contribute through fx value groups, plus /healthz, /readyz and
// /metrics, with a graceful drain on stop.
package httpfx

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"sync"
	"sync/atomic"
	"time"
)

// Route is one handler on the server's mux. Pattern uses Go 1.22 ServeMux
// syntax, e.g. "GET /v1/events/types" or "POST /v1/environments/{id}/promote".
type Route struct {
	Pattern string
	Handler http.Handler
}

// ReadinessCheck reports whether a dependency the process needs to serve
// traffic is usable. Check must return by the time ctx is done.
type ReadinessCheck struct {
	Name  string
	Check func(ctx context.Context) error
	// Warnings, when set, name what still works but needs an operator
	// soon (a stream filling up). They show in /readyz's "warnings"
	// without making the process unready. It must return promptly.
	Warnings func(ctx context.Context) []string
}

// Server is the HTTP server. Create it with NewServer; Start and Stop
// it once.
type Server struct {
	cfg      Config
	logger   *slog.Logger
	checks   []ReadinessCheck
	srv      *http.Server
	draining atomic.Bool
	// cancelRequests cancels the context of requests still running when
	// the shutdown timeout expires, so streaming handlers return.
	cancelRequests context.CancelFunc
	// streamsEnd is closed when draining starts: long-lived answers
	// (server-sent events) end then instead of holding the shutdown.
	streamsEnd chan struct{}
	// bodies are the request bodies still arriving; Stop cuts them short.
	bodies *bodies

	mu    sync.Mutex
	addr  net.Addr
	done  chan struct{}
	state int // stateNew, stateStarted, stateStopped
}

const (
	stateNew = iota
	stateStarted
	stateStopped
)

// Zero durations in the Config passed to NewServer take these values.
const (
	DefaultShutdownTimeout   = 15 * time.Second
	DefaultReadHeaderTimeout = 10 * time.Second
	DefaultReadinessTimeout  = time.Second
	DefaultBodyTimeout       = 30 * time.Second
	DefaultIdleTimeout       = time.Minute
)

// NewServer builds the server: routes, plus GET /healthz (200 while the
// process runs), GET /readyz (200 when not draining and every check
// passes, else 503 naming what fails) and, when metrics is not nil, GET
// /metrics. It fails on an invalid or conflicting route pattern, a nil
// handler, or a check without a name or function.
func NewServer(cfg Config, routes []Route, checks []ReadinessCheck, metrics http.Handler, logger *slog.Logger) (*Server, error) {
	cfg = withDefaults(cfg)
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	if err := validateChecks(checks); err != nil {
		return nil, err
	}
	s := &Server{cfg: cfg, logger: logger, checks: checks}

	mux := http.NewServeMux()
	builtin := []Route{
		{Pattern: "GET /healthz", Handler: http.HandlerFunc(s.healthz)},
		{Pattern: "GET /readyz", Handler: http.HandlerFunc(s.readyz)},
	}
	if metrics != nil {
		builtin = append(builtin, Route{Pattern: "GET /metrics", Handler: metrics})
	}
	for _, r := range append(builtin, routes...) {
		if err := handle(mux, r); err != nil {
			return nil, err
		}
	}

	base, cancel := context.WithCancel(context.Background())
	s.cancelRequests = cancel
	s.streamsEnd = make(chan struct{})
	base = context.WithValue(base, streamsEndKey{}, s.streamsEnd)
	s.bodies = newBodies(cfg.BodyTimeout)
	s.srv = &http.Server{
		Handler:           s.bodies.wrap(mux),
		ReadHeaderTimeout: cfg.ReadHeaderTimeout,
		// No ReadTimeout/WriteTimeout: they would cut off the server-sent
		// event streams. ReadHeaderTimeout bounds the headers, the body
		// deadline (BodyTimeout) the body, IdleTimeout a kept-alive
		// connection between requests.
		IdleTimeout: cfg.IdleTimeout,
		BaseContext: func(net.Listener) context.Context { return base },
		ErrorLog:    slog.NewLogLogger(logger.Handler(), slog.LevelWarn),
	}
	return s, nil
}

func withDefaults(cfg Config) Config {
	if cfg.ShutdownTimeout == 0 {
		cfg.ShutdownTimeout = DefaultShutdownTimeout
	}
	if cfg.ReadHeaderTimeout == 0 {
		cfg.ReadHeaderTimeout = DefaultReadHeaderTimeout
	}
	if cfg.ReadinessTimeout == 0 {
		cfg.ReadinessTimeout = DefaultReadinessTimeout
	}
	if cfg.BodyTimeout == 0 {
		cfg.BodyTimeout = DefaultBodyTimeout
	}
	if cfg.IdleTimeout == 0 {
		cfg.IdleTimeout = DefaultIdleTimeout
	}
	return cfg
}

func validateChecks(checks []ReadinessCheck) error {
	seen := make(map[string]bool, len(checks))
	for _, c := range checks {
		switch {
		case c.Name == "" || c.Check == nil:
			return fmt.Errorf("readiness check %q: needs a name and a check function", c.Name)
		case seen[c.Name]:
			return fmt.Errorf("readiness check %q: registered twice", c.Name)
		}
		seen[c.Name] = true
	}
	return nil
}

// handle registers r, turning ServeMux's panic on a bad or conflicting
// pattern into an error.
func handle(mux *http.ServeMux, r Route) (err error) {
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("route %q: %v", r.Pattern, p)
		}
	}()
	mux.Handle(r.Pattern, r.Handler)
	return nil
}

// Start binds the listener, so a taken port fails here, and serves in the
// background until Stop.
func (s *Server) Start(ctx context.Context) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.state != stateNew {
		return errors.New("http server: already started or stopped")
	}
	var lc net.ListenConfig
	ln, err := lc.Listen(ctx, "tcp", s.cfg.Addr)
	if err != nil {
		return fmt.Errorf("http server: listen on %s: %w", s.cfg.Addr, err)
	}
	s.addr, s.done, s.state = ln.Addr(), make(chan struct{}), stateStarted
	go s.serve(ln, s.done)
	s.logger.InfoContext(ctx, "http server listening", "addr", s.addr.String())
	return nil
}

func (s *Server) serve(ln net.Listener, done chan<- struct{}) {
	defer close(done)
	if err := s.srv.Serve(ln); !errors.Is(err, http.ErrServerClosed) {
		s.logger.Error("http server stopped serving", "error", err)
	}
}

// Stop turns readiness off, keeps serving for the drain delay, then shuts
// the server down: no new connections, and requests in flight get until
// the shutdown timeout (or ctx's deadline, if sooner) to finish before
// their contexts are cancelled and connections closed. It returns once
// the serving goroutine has ended.
func (s *Server) Stop(ctx context.Context) error {
	s.mu.Lock()
	started := s.state == stateStarted
	s.state = stateStopped
	s.mu.Unlock()
	defer s.cancelRequests()
	if !started {
		return nil
	}

	s.draining.Store(true)
	close(s.streamsEnd)
	s.bodies.expire()
	s.logger.InfoContext(ctx, "http server draining", "drain_delay", s.cfg.DrainDelay)
	s.waitDrainDelay(ctx)

	shutdownCtx, cancel := context.WithTimeout(ctx, s.cfg.ShutdownTimeout)
	defer cancel()
	err := s.srv.Shutdown(shutdownCtx)
	if err != nil {
		s.cancelRequests()
		err = errors.Join(fmt.Errorf("http server: shutdown: %w", err), s.srv.Close())
	}
	<-s.done
	return err
}

func (s *Server) waitDrainDelay(ctx context.Context) {
	if s.cfg.DrainDelay <= 0 {
		return
	}
	t := time.NewTimer(s.cfg.DrainDelay)
	defer t.Stop()
	select {
	case <-t.C:
	case <-ctx.Done():
	}
}

// Addr is the address the server listens on once started (with port 0,
// the port picked), else the configured address.
func (s *Server) Addr() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.addr != nil {
		return s.addr.String()
	}
	return s.cfg.Addr
}

// Handler is the server's mux, for tests that need no socket.
func (s *Server) Handler() http.Handler {
	return s.srv.Handler
}

type streamsEndKey struct{}

// StreamsEnd is closed when the server that received the request starts
// to drain: a streaming handler ends its answer then (the client resumes
// elsewhere), so a shutdown does not wait for it. Outside a Server it
// never closes.
func StreamsEnd(ctx context.Context) <-chan struct{} {
	ch, _ := ctx.Value(streamsEndKey{}).(chan struct{})
	return ch
}
