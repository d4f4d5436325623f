package ports_test

import (
	"context"
	"log/slog"
	"sync"
	"testing"

	auditcontract "github.com/pave-platform/pave/pkg/audit"
	"github.com/pave-platform/pave/pkg/bus"
	"github.com/pave-platform/pave/pkg/policy"
	"github.com/pave-platform/pave/pkg/testkit"
	"github.com/pave-platform/pave/services/access/audit"
	"github.com/pave-platform/pave/services/access/internal/ports"
)

// The gateway's decision records: appended directly (before signing) or
// sent to the access service, which signs and appends them. 32 callers at
// once, as concurrent requests are.
func BenchmarkAuditAppend(b *testing.B) {
	srv := testkit.NATS(b)
	nc := srv.Conn(b)
	js := srv.JetStream(b)
	ctx := context.Background()
	if err := bus.EnsureStreams(ctx, js, bus.CoreStreams(bus.DefaultStreamOptions())...); err != nil {
		b.Fatal(err)
	}
	p, err := policy.Load(policy.Config{})
	if err != nil {
		b.Fatal(err)
	}
	s, _, _, _, err := audit.SigningConfig{DataDir: b.TempDir()}.Load()
	if err != nil {
		b.Fatal(err)
	}
	authz, err := ports.ServeAuthorize(nc, policy.New(p), policy.NewGrants(nil), audit.NewLedger(js).WithSigner(s), nil, slog.New(slog.DiscardHandler))
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = authz.Stop() })
	for name, rec := range map[string]interface {
		Append(context.Context, audit.Record) error
	}{"direct": audit.NewLedger(js), "via-access-signed": auditcontract.NewClient(nc, 0x7fffffff)} {
		b.Run(name, func(b *testing.B) {
			var wg sync.WaitGroup
			work := make(chan struct{})
			for range 32 {
				wg.Go(func() {
					for range work {
						if err := rec.Append(ctx, audit.Record{Kind: audit.KindDecision, Actor: "alice", Action: "environment:read"}); err != nil {
							b.Error(err)
						}
					}
				})
			}
			for i := 0; i < b.N; i++ {
				work <- struct{}{}
			}
			close(work)
			wg.Wait()
		})
	}
}
