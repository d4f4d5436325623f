package httpfx

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"sync"
)

// healthStatus is the body of /healthz and /readyz.
type healthStatus struct {
	// Status is "ok", "draining" (stopping) or "unavailable" (a check
	// failed).
	Status string `json:"status"`
	// Failing names the readiness checks that failed. Their errors are
	// logged, not returned, since the endpoint may be reachable from
	// outside.
	Failing []string `json:"failing,omitempty"`
	// Warnings are what the checks report needs attention while the
	// process still serves, such as a stream near its limit. They name
	// streams and figures, never secrets.
	Warnings []string `json:"warnings,omitempty"`
}

func (s *Server) healthz(w http.ResponseWriter, _ *http.Request) {
	writeJSON(w, http.StatusOK, healthStatus{Status: "ok"})
}

func (s *Server) readyz(w http.ResponseWriter, r *http.Request) {
	if s.draining.Load() {
		writeJSON(w, http.StatusServiceUnavailable, healthStatus{Status: "draining"})
		return
	}
	warnings := s.warnings(r.Context())
	if failing := s.failingChecks(r.Context()); len(failing) > 0 {
		writeJSON(w, http.StatusServiceUnavailable, healthStatus{Status: "unavailable", Failing: failing, Warnings: warnings})
		return
	}
	writeJSON(w, http.StatusOK, healthStatus{Status: "ok", Warnings: warnings})
}

// warnings collects the checks' warnings in registration order.
func (s *Server) warnings(ctx context.Context) []string {
	var out []string
	for _, c := range s.checks {
		if c.Warnings != nil {
			out = append(out, runWarnings(ctx, c)...)
		}
	}
	return out
}

func runWarnings(ctx context.Context, c ReadinessCheck) (w []string) {
	defer func() {
		if p := recover(); p != nil {
			w = []string{c.Name + ": warnings failed"}
		}
	}()
	return c.Warnings(ctx)
}

// failingChecks runs every check concurrently, each bounded by the
// readiness timeout, and returns the names of those that failed, in
// registration order.
func (s *Server) failingChecks(ctx context.Context) []string {
	errs := make([]error, len(s.checks))
	var wg sync.WaitGroup
	for i, c := range s.checks {
		wg.Go(func() {
			ctx, cancel := context.WithTimeout(ctx, s.cfg.ReadinessTimeout)
			defer cancel()
			errs[i] = runCheck(ctx, c)
		})
	}
	wg.Wait()

	var failing []string
	for i, err := range errs {
		if err != nil {
			failing = append(failing, s.checks[i].Name)
			s.logger.WarnContext(ctx, "readiness check failed", "check", s.checks[i].Name, "error", err)
		}
	}
	return failing
}

func runCheck(ctx context.Context, c ReadinessCheck) (err error) {
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("panic: %v", p)
		}
	}()
	return c.Check(ctx)
}

func writeJSON(w http.ResponseWriter, status int, body any) {
	b, err := json.Marshal(body)
	if err != nil {
		http.Error(w, "encode response", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_, _ = w.Write(append(b, '\n'))
}
