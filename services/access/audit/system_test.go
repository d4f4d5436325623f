package audit_test

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/pave-platform/pave/pkg/bus"
	"github.com/pave-platform/pave/pkg/events"
	"github.com/pave-platform/pave/services/access/audit"
)

// Each kind of system action is in the ledger under its principal: a TTL
// teardown, an orphan the sweeper removed, a preemption and a webhook
// delivery; other transitions are not recorded.
func TestSystemActionsAreAuditedWithTheirPrincipal(t *testing.T) {
	js := auditStream(t)
	ctx := context.Background()
	sys := audit.NewSystemActions(audit.NewLedger(js))
	at := time.Date(2026, 12, 7, 1, 0, 0, 0, time.UTC)
	handle := func(id, typ string, data any) {
		t.Helper()
		e, err := bus.NewEvent(id, "pave/test", typ, data)
		require.NoError(t, err)
		e.SetTime(at)
		require.NoError(t, sys.Handle(ctx, e))
	}
	handle("t1", events.TypeEnvironmentTransitioned, events.EnvironmentTransitioned{EnvironmentID: "env-1", Team: "pay", Name: "pr-7",
		Stage: "preview", From: "expiring", To: "decommissioning", Reason: "expired", Seq: 5, At: at})
	handle("t2", events.TypeEnvironmentTransitioned, events.EnvironmentTransitioned{EnvironmentID: "env-2", Team: "pay", Name: "x",
		Stage: "dev", From: "ready", To: "decommissioning", Reason: "deleted by amy", Seq: 3, At: at})
	handle("o1", events.TypeResourceOrphaned, events.ResourceOrphaned{Driver: "postgres", ExternalID: "database:pave_x", Removed: true, DetectedAt: at})
	handle("p1", events.TypeWorkloadPreempted, events.WorkloadPreempted{WorkloadID: "wl-9", Team: "web", Admission: 2, By: "wl-1", Reason: "fair share", At: at})
	handle("g1", events.TypeCICompleted, events.CICompleted{Provider: "github", Repository: "acme/shop", Team: "pay", Commit: "abc123",
		Conclusion: "success", DeliveryID: "d-1"})

	recs, err := audit.Query(ctx, js, audit.Stream, audit.Filter{})
	require.NoError(t, err)
	got := map[string]string{}
	for _, r := range recs {
		assert.Equal(t, audit.KindSystem, r.Kind)
		assert.Equal(t, at, r.Time)
		got[r.Actor] = r.Action + " " + r.Resource
	}
	assert.Equal(t, map[string]string{
		"system:ttl":                      "environment:delete environment:env-1",
		"system:sweeper":                  "resource:orphan-removed postgres:database:pave_x",
		"system:preemption":               "workload:preempt workload:wl-9",
		"system:webhook/github:acme/shop": "webhook:ci.completed repository:acme/shop@abc123",
	}, got)
	rep, err := audit.Verify(ctx, js, audit.Stream)
	require.NoError(t, err)
	assert.True(t, rep.OK)
}
