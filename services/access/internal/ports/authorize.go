package ports

import (
	"context"
	"encoding/json"
	"log/slog"
	"sync"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/micro"

	"github.com/pave-platform/pave/pkg/policy"
	"github.com/pave-platform/pave/pkg/rpc"
	"github.com/pave-platform/pave/services/access/audit"
)

// ServeAuthorize answers rpc.Authorize: the decision point for services
// other than the gateway. Each decision is recorded before it is answered.
// Requests are answered concurrently up to a bound, so records of
// concurrent requests share one group commit.
func ServeAuthorize(nc *nats.Conn, e *policy.Engine, grants *policy.Grants, rec *audit.Ledger, metrics *policy.Metrics, log *slog.Logger) (*AuthorizeServer, error) {
	svc, err := micro.AddService(nc, micro.Config{Name: "pave-access-authorize", Version: "0.1.0"})
	if err != nil {
		return nil, err
	}
	srv := &AuthorizeServer{Service: svc}
	slots := make(chan struct{}, 256)
	handle := func(m micro.Request) {
		slots <- struct{}{}
		srv.inflight.Go(func() {
			defer func() { <-slots }()
			authorize(m, e, grants, rec, metrics, log)
		})
	}
	if err := svc.AddEndpoint("authorize", micro.HandlerFunc(handle), micro.WithEndpointSubject(rpc.Authorize)); err != nil {
		_ = svc.Stop()
		return nil, err
	}
	appendRecord := func(m micro.Request) {
		slots <- struct{}{}
		srv.inflight.Go(func() {
			defer func() { <-slots }()
			appendFor(m, rec, log)
		})
	}
	if err := svc.AddEndpoint("audit-append", micro.HandlerFunc(appendRecord), micro.WithEndpointSubject(audit.AppendSubject)); err != nil {
		_ = svc.Stop()
		return nil, err
	}
	return srv, nil
}

// appendFor signs and appends a record another service (the gateway)
// wrote, and answers once it is stored. The chain fields are the
// ledger's to set.
func appendFor(m micro.Request, rec *audit.Ledger, log *slog.Logger) {
	var r audit.Record
	if err := json.Unmarshal(m.Data(), &r); err != nil || r.Action == "" || r.Actor == "" {
		_ = m.Error("400", "an audit record with actor and action is required", nil)
		return
	}
	r.Prev, r.Hash, r.Key, r.Sig = "", "", "", ""
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := rec.Append(ctx, r); err != nil {
		log.Error("audit append", "error", err)
		_ = m.Error("503", "the record could not be stored", nil)
		return
	}
	_ = m.Respond([]byte("ok"))
}

// AuthorizeServer is the running decision endpoint.
type AuthorizeServer struct {
	micro.Service
	inflight sync.WaitGroup
}

// Stop stops taking requests and waits for those in flight.
func (s *AuthorizeServer) Stop() error {
	err := s.Service.Stop()
	s.inflight.Wait()
	return err
}

func authorize(m micro.Request, e *policy.Engine, grants *policy.Grants, rec *audit.Ledger, metrics *policy.Metrics, log *slog.Logger) {
	start := time.Now()
	var req policy.Request
	if err := json.Unmarshal(m.Data(), &req); err != nil || req.Action == "" || req.Principal.ID == "" {
		_ = m.Error("400", "a policy.Request with principal and action is required", nil)
		return
	}
	req, used := grants.Apply(req, start)
	d := e.Decide(req)
	if d.Allowed {
		grants.Used(used, start)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := rec.Append(ctx, policy.AuditRecord(req, d, "")); err != nil {
		log.Error("authorize: record decision", "error", err)
		_ = m.Error("503", "the decision could not be recorded", nil)
		return
	}
	if err := m.RespondJSON(d); err != nil {
		log.Warn("authorize reply not sent", "error", err)
	}
	metrics.Observe(ctx, time.Since(start), d.Allowed, policy.PathNATS)
}
