package app_test

import (
	"context"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/pave-platform/pave/pkg/events"
	"github.com/pave-platform/pave/pkg/saga"
	"github.com/pave-platform/pave/services/lifecycle/internal/app"
	"github.com/pave-platform/pave/services/lifecycle/internal/domain"
)

// Issue 19, finding 2: after a budget denial the environment was failed,
// DELETE answered 409 "illegal transition from failed to
// decommissioning" and the name stayed taken forever.
func TestBudgetDeniedEnvironmentIsDeletedAndItsNameComesFree(t *testing.T) {
	p := app.DefaultStepPolicy()
	p.GrantCredentials, p.CostCheck = false, true
	h := newHarnessWith(t, p)
	ctx := context.Background()
	env := h.Create(t)
	createID := app.SagaID(env.ID, app.OpCreate, 1)
	deny := h.Event(t, events.TypeCostCheckDenied, events.CostCheck{Saga: *ref(createID, app.StepBudget, 1, false),
		EnvironmentID: env.ID, Team: "payments", Decision: "denied", Reason: "over budget: 31.15 of 2.00 left"})
	require.NoError(t, h.Svc.HandleCostCheck(h.Eng)(ctx, deny))
	h.Reconcile(t)
	require.Equal(t, domain.StateFailed, h.Env(t, env.ID).State)

	again, err := h.Svc.Create(ctx, alice, domain.CreateRequest{Team: "payments", Name: "checkout", Template: "shop"})
	require.NoError(t, err, "a failed environment that holds nothing frees its name")
	assert.NotEqual(t, env.ID, again.ID)

	gone, err := h.Svc.Delete(ctx, alice, env.ID, "clean up")
	require.NoError(t, err)
	assert.Equal(t, domain.StateDeleted, gone.State, "nothing to tear down: deleted at once")
	assert.Nil(t, gone.Operation)
	_, err = h.Svc.Create(ctx, alice, domain.CreateRequest{Team: "payments", Name: "checkout", Template: "shop"})
	assert.ErrorIs(t, err, app.ErrNameTaken, "deleting the old one does not free the name the new one holds")
}

// A failed create whose compensation left something behind, and a
// compensation_failed one, are torn down by a delete; the name comes free
// once the teardown ends.
func TestEnvironmentsThatHoldResourcesAreTornDownByADelete(t *testing.T) {
	h := newHarness(t)
	ctx := context.Background()
	env := h.Create(t)
	createID := app.SagaID(env.ID, app.OpCreate, 1)
	require.NoError(t, h.Scheduler(t, events.TypeWorkloadAdmitted, events.WorkloadAdmitted{WorkloadID: env.ID,
		Saga: ref(createID, "admit", 1, false), At: at}))
	h.Provisioning(t, events.TypeResourceProvisioned, createID, "provision-db", "db")
	// app fails for good; db's undo fails for good too.
	h.Answer(t, events.TypeResourceFailed, ref(createID, "provision-app", 1, false), "app")
	h.Answer(t, events.TypeResourceDeprovisioned, ref(createID, "provision-app", 1, true), "app")
	h.Answer(t, events.TypeResourceFailed, ref(createID, "provision-db", 1, true), "db")
	require.NoError(t, h.Scheduler(t, events.TypeWorkloadReleased, events.WorkloadReleased{WorkloadID: env.ID,
		Saga: ref(createID, "admit", 1, true), At: at}), "the admission is given back all the same")
	h.Reconcile(t)
	stuck := h.Env(t, env.ID)
	require.Equal(t, domain.StateCompensationFailed, stuck.State, stuck.Reason)
	assert.Contains(t, stuck.Reason, "left: db")

	_, err := h.Svc.Create(ctx, alice, domain.CreateRequest{Team: "payments", Name: "checkout", Template: "shop"})
	assert.ErrorIs(t, err, app.ErrNameTaken, "its db may exist: the name stays")

	gone, err := h.Svc.Delete(ctx, alice, env.ID, "operator cleans up")
	require.NoError(t, err)
	require.Equal(t, domain.StateDecommissioning, gone.State)
	teardownID := gone.Operation.ID
	h.Provisioning(t, events.TypeResourceDeprovisioned, teardownID, "deprovision-app", "app")
	h.Provisioning(t, events.TypeResourceSanitized, teardownID, "sanitize-db", "db")
	h.Provisioning(t, events.TypeResourceDeprovisioned, teardownID, "deprovision-db", "db")
	require.NoError(t, h.Scheduler(t, events.TypeWorkloadReleased, events.WorkloadReleased{WorkloadID: env.ID,
		Saga: ref(teardownID, "release", 1, false), At: at}))
	h.Reconcile(t)

	assert.Equal(t, saga.StatusCompleted, h.Saga(t, teardownID).Status)
	assert.Equal(t, domain.StateDeleted, h.Env(t, env.ID).State)
	_, err = h.Svc.Create(ctx, alice, domain.CreateRequest{Team: "payments", Name: "checkout", Template: "shop"})
	assert.NoError(t, err, "the name is free once the environment is deleted")
}
