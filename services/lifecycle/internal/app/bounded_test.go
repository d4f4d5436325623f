package app_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/pave-platform/pave/pkg/events"
	"github.com/pave-platform/pave/services/lifecycle/internal/app"
	"github.com/pave-platform/pave/services/lifecycle/internal/domain"
)

// Issue 15: deleted environments stayed in memory and in the bucket for
// ever, and reconcile copied every environment ever each pass. Now a
// pass visits what can change, a deleted environment is purged once its
// retention is over (key, name, index entry), and what is left counts
// what is live.
func TestDeletedEnvironmentsLeaveAndReconcileVisitsOnlyWhatCanChange(t *testing.T) {
	p := app.DefaultStepPolicy()
	p.GrantCredentials, p.CostCheck = false, true
	h := newHarnessWith(t, p)
	ctx, cancel := context.WithCancel(context.Background())
	wait, err := h.Envs.Follow(ctx)
	require.NoError(t, err)
	t.Cleanup(func() { cancel(); wait() })
	h.Svc.WithRetention(time.Hour)
	require.Eventually(t, func() bool { _, err := h.Svc.ReconcileVisited(ctx); return err == nil && h.Envs.Size() == 0 },
		10*time.Second, 10*time.Millisecond, "the index never caught up")

	// n creates, each denied its budget (failed, holding nothing), then
	// deleted (at once: nothing to tear down).
	const n = 5
	var ids []string
	for i := range n {
		env, err := h.Svc.Create(ctx, alice, domain.CreateRequest{Team: "payments", Name: fmt.Sprintf("pr-%d", i), Template: "shop"})
		require.NoError(t, err)
		createID := app.SagaID(env.ID, app.OpCreate, 1)
		deny := h.Event(t, events.TypeCostCheckDenied, events.CostCheck{Saga: *ref(createID, app.StepBudget, 1, false),
			EnvironmentID: env.ID, Team: "payments", Decision: "denied", Reason: "over budget"})
		require.NoError(t, h.Svc.HandleCostCheck(h.Eng)(ctx, deny))
		ids = append(ids, env.ID)
	}
	// Queued while their sagas compensate: the pass applies the sagas' end.
	visited, err := h.Svc.ReconcileVisited(ctx)
	require.NoError(t, err)
	assert.ElementsMatch(t, ids, visited)
	for _, id := range ids {
		require.Equal(t, domain.StateFailed, h.Env(t, id).State)
	}
	visited, err = h.Svc.ReconcileVisited(ctx)
	require.NoError(t, err)
	assert.Empty(t, visited, "failed environments that hold nothing are at rest: reconcile leaves them alone")
	assert.Equal(t, n, h.Envs.Size())

	for _, id := range ids[:2] {
		_, err := h.Svc.Delete(ctx, alice, id, "clean up")
		require.NoError(t, err)
	}
	visited, err = h.Svc.ReconcileVisited(ctx)
	require.NoError(t, err)
	assert.ElementsMatch(t, ids[:2], visited, "only the deleted ones, which wait for their purge")
	assert.Equal(t, n, h.Envs.Size(), "kept while their retention runs")

	h.Svc.WithRetention(time.Millisecond)
	for _, id := range ids[2:] {
		_, err := h.Svc.Delete(ctx, alice, id, "clean up")
		require.NoError(t, err)
	}
	require.Eventually(t, func() bool {
		_, err := h.Svc.ReconcileVisited(ctx)
		return err == nil && h.Envs.Size() == 0
	}, 10*time.Second, 20*time.Millisecond, "deleted environments were not purged; index holds %d", h.Envs.Size())
	for _, id := range ids {
		_, err := h.Svc.Get(ctx, alice, id)
		assert.ErrorIs(t, err, app.ErrNotFound, "purged: %s", id)
	}
	visited, err = h.Svc.ReconcileVisited(ctx)
	require.NoError(t, err)
	assert.Empty(t, visited)
	assert.Zero(t, h.Svc.Remembered(), "nothing remembered of environments that are gone")
	names, err := h.Envs.Names(ctx)
	require.NoError(t, err)
	assert.Empty(t, names, "every name of a purged environment is free")
}
