package localsrv

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"sync"
	"time"
)

// Server is a local server process a Supervisor keeps running.
type Server interface {
	// Exited is closed when the process has exited.
	Exited() <-chan struct{}
	Stop() error
	Addr() string
	PID() int
}

// Exited is closed when redis-server has exited.
func (r *Redis) Exited() <-chan struct{} { return r.proc.done }

// Exited is closed when postgres has exited.
func (p *Postgres) Exited() <-chan struct{} { return p.proc.done }

// Supervisor restarts a local server that died (not one that was
// stopped): on the same port and data directory, with a growing pause
// between attempts, logging each death and each restart. Check reports
// whether it is up, for a readiness probe.
type Supervisor struct {
	name  string
	start func(ctx context.Context) (Server, error)
	log   *slog.Logger

	mu       sync.Mutex
	cur      Server
	down     error
	restarts int

	quit chan struct{}
	done chan struct{}
}

// Supervise watches running and, when it dies, calls start for a new one.
func Supervise(name string, running Server, start func(ctx context.Context) (Server, error), log *slog.Logger) *Supervisor {
	s := &Supervisor{name: name, start: start, log: log, cur: running, quit: make(chan struct{}), done: make(chan struct{})}
	go s.watch()
	return s
}

// Restart pauses: the first retry waits minBackoff, doubling to maxBackoff.
const (
	minBackoff = 250 * time.Millisecond
	maxBackoff = 10 * time.Second
)

func (s *Supervisor) watch() {
	defer close(s.done)
	for {
		s.mu.Lock()
		cur := s.cur
		s.mu.Unlock()
		select {
		case <-s.quit:
			return
		case <-cur.Exited():
		}
		// Its children (postgres backends) may outlive it: end them.
		_ = cur.Stop()
		s.setDown(fmt.Errorf("local %s at %s exited; restarting", s.name, cur.Addr()))
		s.log.Warn("local server died; restarting it", "server", s.name, "addr", cur.Addr())
		if !s.restart() {
			return
		}
	}
}

// restart starts the server again until it runs or the supervisor stops.
func (s *Supervisor) restart() bool {
	pause := minBackoff
	for attempt := 1; ; attempt++ {
		select {
		case <-s.quit:
			return false
		case <-time.After(pause):
		}
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		next, err := s.start(ctx)
		cancel()
		if err == nil {
			s.mu.Lock()
			s.cur, s.down = next, nil
			s.restarts++
			s.mu.Unlock()
			s.log.Info("local server restarted", "server", s.name, "addr", next.Addr(), "attempt", attempt)
			return true
		}
		s.setDown(fmt.Errorf("local %s is down; restart %d failed: %w", s.name, attempt, err))
		s.log.Warn("local server restart failed", "server", s.name, "attempt", attempt, "error", err)
		pause = min(2*pause, maxBackoff)
	}
}

func (s *Supervisor) setDown(err error) {
	s.mu.Lock()
	s.down = err
	s.mu.Unlock()
}

// Addr is where the server listens (the same across restarts).
func (s *Supervisor) Addr() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.cur.Addr()
}

// PID is the process id of the server now running.
func (s *Supervisor) PID() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.cur.PID()
}

// Restarts counts the restarts so far.
func (s *Supervisor) Restarts() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.restarts
}

// Check answers nil when the server is up and accepts connections, or
// says which server is down and why.
func (s *Supervisor) Check(ctx context.Context) error {
	s.mu.Lock()
	cur, down := s.cur, s.down
	s.mu.Unlock()
	if down != nil {
		return down
	}
	d := net.Dialer{Timeout: time.Second}
	conn, err := d.DialContext(ctx, "tcp", cur.Addr())
	if err != nil {
		return fmt.Errorf("local %s at %s: %w", s.name, cur.Addr(), err)
	}
	return conn.Close()
}

// Stop ends the supervision, then the server.
func (s *Supervisor) Stop() error {
	close(s.quit)
	<-s.done
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.cur.Stop()
}

// PID is redis-server's process id.
func (r *Redis) PID() int { return r.proc.cmd.Process.Pid }

// PID is the postmaster's process id.
func (p *Postgres) PID() int { return p.proc.cmd.Process.Pid }
