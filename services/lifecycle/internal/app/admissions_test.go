package app_test

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/pave-platform/pave/pkg/bus"
	"github.com/pave-platform/pave/pkg/events"
	"github.com/pave-platform/pave/pkg/saga"
	"github.com/pave-platform/pave/services/lifecycle/internal/app"
	"github.com/pave-platform/pave/services/lifecycle/internal/domain"
)

func TestCreateStaysQueuedUntilAdmittedAndSettlesWhenProvisioned(t *testing.T) {
	h := newHarness(t)
	env := h.Create(t)
	createID := app.SagaID(env.ID, app.OpCreate, 1)

	assert.Equal(t, domain.StateQueued, env.State)
	assert.Equal(t, "waiting for admission in pool platform", env.Reason)
	var submit events.SubmitCommand
	require.Equal(t, events.TypeSubmitCommand, h.LastSchedulerCommand(t, &submit))
	assert.Equal(t, events.SubmitCommand{
		Workload: events.WorkloadSpec{ID: env.ID, Team: "payments", Pool: "platform", Kind: "environment",
			Demand: map[string]int64{"environments": 1, "ops": 1}},
		Saga: ref(createID, "admit", 1, false), SubmittedBy: "alice",
	}, submit)

	require.NoError(t, h.Scheduler(t, events.TypeWorkloadWaiting, events.WorkloadWaiting{WorkloadID: env.ID, Team: "payments",
		Kind: "environment", Reason: "team quota exhausted for ops; borrowing limit reached", Position: 3,
		Saga: ref(createID, "admit", 1, false), At: at}))
	h.Reconcile(t)

	waiting := h.Env(t, env.ID)
	assert.Equal(t, domain.StateQueued, waiting.State, "reconcile does not move a create past its admission")
	assert.Equal(t, "waiting for admission in pool platform: team quota exhausted for ops; borrowing limit reached (position 3)", waiting.Reason)
	assert.Empty(t, h.Commands(t, "CMD_PROVISIONING"), "nothing is provisioned before the admission")

	require.NoError(t, h.Scheduler(t, events.TypeWorkloadAdmitted, events.WorkloadAdmitted{WorkloadID: env.ID, Team: "payments",
		Pool: "platform", Kind: "environment", Demand: submit.Workload.Demand, Admission: 1,
		Saga: ref(createID, "admit", 1, false), At: at}))

	admitted := h.Env(t, env.ID)
	assert.Equal(t, domain.StateProvisioning, admitted.State)
	assert.Empty(t, admitted.Reason)
	assert.Equal(t, "platform", admitted.Admission.Pool)
	require.Len(t, h.Commands(t, "CMD_PROVISIONING"), 1, "db is provisioned first")

	h.Provisioning(t, events.TypeResourceProvisioned, createID, "provision-db", "db")
	h.Provisioning(t, events.TypeResourceProvisioned, createID, "provision-app", "app")
	var settle events.SettleCommand
	require.Equal(t, events.TypeSettleCommand, h.LastSchedulerCommand(t, &settle))
	assert.Equal(t, events.SettleCommand{WorkloadID: env.ID, Release: map[string]int64{"ops": 1},
		Saga: ref(createID, "settle", 1, false)}, settle)

	require.NoError(t, h.Scheduler(t, events.TypeWorkloadSettled, events.WorkloadSettled{WorkloadID: env.ID,
		Demand: map[string]int64{"environments": 1, "ops": 0}, Saga: ref(createID, "settle", 1, false), At: at}))
	h.Reconcile(t)

	assert.Equal(t, saga.StatusCompleted, h.Saga(t, createID).Status)
	assert.Equal(t, domain.StateReady, h.Env(t, env.ID).State)
}

func TestSchedulerRefusalFailsTheCreate(t *testing.T) {
	tests := []struct {
		name       string
		typ        string
		data       func(createID string) any
		wantReason string
	}{
		{"rejected", events.TypeWorkloadRejected, func(id string) any {
			return events.WorkloadRejected{WorkloadID: "w", Team: "payments", Field: "demand.environments",
				Reason: "not a resource of pool platform", Saga: ref(id, "admit", 1, false), At: at}
		}, "step admit: demand.environments: not a resource of pool platform"},
		{"cancelled", events.TypeWorkloadCancelled, func(id string) any {
			return events.WorkloadCancelled{WorkloadID: "w", Team: "payments", Reason: "cancelled by bob",
				Saga: ref(id, "admit", 1, false), At: at}
		}, "step admit: cancelled by bob"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newHarness(t)
			env := h.Create(t)
			createID := app.SagaID(env.ID, app.OpCreate, 1)

			require.NoError(t, h.Scheduler(t, tt.typ, tt.data(createID)))

			var release events.ReleaseCommand
			require.Equal(t, events.TypeReleaseCommand, h.LastSchedulerCommand(t, &release), "not retried: compensated")
			assert.Equal(t, events.ReleaseCommand{WorkloadID: env.ID, Reason: "environment creation compensated",
				Saga: ref(createID, "admit", 1, true)}, release)
			require.NoError(t, h.Scheduler(t, events.TypeWorkloadReleased, events.WorkloadReleased{WorkloadID: env.ID,
				Reason: release.Reason, Saga: release.Saga, At: at}))
			h.Reconcile(t)

			assert.Equal(t, saga.StatusCompensated, h.Saga(t, createID).Status)
			failed := h.Env(t, env.ID)
			assert.Equal(t, domain.StateFailed, failed.State)
			assert.Equal(t, tt.wantReason, failed.Reason)
		})
	}
}

func TestTeardownReleasesTheAdmissionLast(t *testing.T) {
	h := newHarness(t)
	env := h.Create(t)
	createID := app.SagaID(env.ID, app.OpCreate, 1)
	require.NoError(t, h.Scheduler(t, events.TypeWorkloadAdmitted, events.WorkloadAdmitted{WorkloadID: env.ID,
		Saga: ref(createID, "admit", 1, false), At: at}))
	h.Provisioning(t, events.TypeResourceProvisioned, createID, "provision-db", "db")
	h.Provisioning(t, events.TypeResourceProvisioned, createID, "provision-app", "app")
	require.NoError(t, h.Scheduler(t, events.TypeWorkloadSettled, events.WorkloadSettled{WorkloadID: env.ID,
		Saga: ref(createID, "settle", 1, false), At: at}))
	h.Reconcile(t)
	require.Equal(t, domain.StateReady, h.Env(t, env.ID).State)

	gone, err := h.Svc.Delete(context.Background(), alice, env.ID, "done")
	require.NoError(t, err)
	teardownID := gone.Operation.ID
	h.Provisioning(t, events.TypeResourceDeprovisioned, teardownID, "deprovision-app", "app")
	h.Provisioning(t, events.TypeResourceSanitized, teardownID, "sanitize-db", "db")
	h.Provisioning(t, events.TypeResourceDeprovisioned, teardownID, "deprovision-db", "db")

	var release events.ReleaseCommand
	require.Equal(t, events.TypeReleaseCommand, h.LastSchedulerCommand(t, &release))
	assert.Equal(t, events.ReleaseCommand{WorkloadID: env.ID, Reason: "environment torn down",
		Saga: ref(teardownID, "release", 1, false)}, release)
	assert.Equal(t, domain.StateDecommissioning, h.Env(t, env.ID).State, "not deleted before the admission is back")

	require.NoError(t, h.Scheduler(t, events.TypeWorkloadReleased, events.WorkloadReleased{WorkloadID: env.ID, Existed: true,
		Reason: release.Reason, Saga: release.Saga, At: at}))
	h.Reconcile(t)

	assert.Equal(t, saga.StatusCompleted, h.Saga(t, teardownID).Status)
	assert.Equal(t, domain.StateDeleted, h.Env(t, env.ID).State)
}

func TestDeletingAQueuedEnvironmentWithdrawsItsCreate(t *testing.T) {
	h := newHarness(t)
	env := h.Create(t)
	createID := app.SagaID(env.ID, app.OpCreate, 1)

	gone, err := h.Svc.Delete(context.Background(), alice, env.ID, "not needed")
	require.NoError(t, err)

	assert.Equal(t, domain.StateDecommissioning, gone.State)
	assert.Equal(t, saga.StatusCompensating, h.Saga(t, createID).Status, "the create is aborted")
	assert.Equal(t, saga.StatusRunning, h.Saga(t, gone.Operation.ID).Status, "the teardown runs")
	var release events.ReleaseCommand
	require.Equal(t, events.TypeReleaseCommand, h.LastSchedulerCommand(t, &release))
	assert.Equal(t, ref(createID, "admit", 1, true), release.Saga, "the queued workload is withdrawn")

	// An admission that crossed the withdrawal provisions nothing: the
	// saga withdraws once more and the environment stays in teardown.
	require.NoError(t, h.Scheduler(t, events.TypeWorkloadAdmitted, events.WorkloadAdmitted{WorkloadID: env.ID,
		Saga: ref(createID, "admit", 1, false), At: at}))
	require.NoError(t, h.Scheduler(t, events.TypeWorkloadReleased, events.WorkloadReleased{WorkloadID: env.ID,
		Saga: ref(createID, "admit", 1, true), At: at}))
	require.NoError(t, h.Scheduler(t, events.TypeWorkloadReleased, events.WorkloadReleased{WorkloadID: env.ID,
		Saga: ref(createID, "admit", 2, true), At: at}))
	h.Reconcile(t)

	assert.Equal(t, saga.StatusCompensated, h.Saga(t, createID).Status)
	assert.Equal(t, domain.StateDecommissioning, h.Env(t, env.ID).State)
	for _, cmd := range h.Commands(t, "CMD_PROVISIONING") {
		assert.NotEqual(t, events.TypeProvisionCommand, cmd.Type(), "nothing is provisioned for a withdrawn create")
	}
}

func TestWaitingReportsKeepTheNewestReason(t *testing.T) {
	h := newHarness(t)
	env := h.Create(t)
	createID := app.SagaID(env.ID, app.OpCreate, 1)
	wait := func(reason string, position int, at time.Time) events.WorkloadWaiting {
		return events.WorkloadWaiting{WorkloadID: env.ID, Team: "payments", Kind: "environment", Reason: reason,
			Position: position, Saga: ref(createID, "admit", 1, false), At: at}
	}

	require.NoError(t, h.Scheduler(t, events.TypeWorkloadWaiting, wait("pool platform is full", 1, at.Add(time.Minute))))
	require.NoError(t, h.Scheduler(t, events.TypeWorkloadWaiting, wait("team quota exhausted for ops", 2, at)),
		"an older report is absorbed")

	got := h.Env(t, env.ID)
	assert.Equal(t, "waiting for admission in pool platform: pool platform is full (position 1)", got.Reason)
	assert.Equal(t, &domain.Admission{Pool: "platform", Waiting: "pool platform is full", Position: 1,
		ReportedAt: at.Add(time.Minute)}, got.Admission)
	assert.Equal(t, saga.StepStatusRunning, h.Saga(t, createID).Steps[0].Status, "waiting is no answer for the saga")
}

// recorder is a SagaDeliverer that keeps what it is given.
type recorder struct{ got []saga.Input }

func (r *recorder) Deliver(_ context.Context, _ string, in saga.Input) error {
	r.got = append(r.got, in)
	return nil
}

func TestHandleAdmissionMapsSchedulerEventsToSagaInputs(t *testing.T) {
	const id = "env-abcdefgh2345.create.1"
	admit, settle := ref(id, "admit", 1, false), ref(id, "settle", 1, false)
	undo := ref(id, "admit", 1, true)
	release := ref("env-abcdefgh2345.teardown.4", "release", 2, false)
	asRef := func(s *events.Saga) saga.Ref {
		return saga.Ref{ID: s.ID, Step: s.Step, Attempt: s.Attempt, Compensation: s.Compensation}
	}
	tests := []struct {
		name string
		typ  string
		data any
		want []saga.Input
	}{
		{"admitted", events.TypeWorkloadAdmitted, events.WorkloadAdmitted{WorkloadID: "w", Saga: admit},
			[]saga.Input{saga.StepSucceeded{Ref: asRef(admit)}}},
		{"settled", events.TypeWorkloadSettled, events.WorkloadSettled{WorkloadID: "w", Saga: settle},
			[]saga.Input{saga.StepSucceeded{Ref: asRef(settle)}}},
		{"released by teardown", events.TypeWorkloadReleased, events.WorkloadReleased{WorkloadID: "w", Saga: release},
			[]saga.Input{saga.StepSucceeded{Ref: asRef(release)}}},
		{"released by compensation", events.TypeWorkloadReleased, events.WorkloadReleased{WorkloadID: "w", Saga: undo},
			[]saga.Input{saga.StepSucceeded{Ref: asRef(undo)}}},
		{"rejected", events.TypeWorkloadRejected, events.WorkloadRejected{WorkloadID: "w", Field: "pool", Reason: "unknown pool", Saga: admit},
			[]saga.Input{saga.StepFailed{Ref: asRef(admit), Reason: "pool: unknown pool"}}},
		{"rejected without field", events.TypeWorkloadRejected, events.WorkloadRejected{WorkloadID: "w", Reason: "duplicate", Saga: admit},
			[]saga.Input{saga.StepFailed{Ref: asRef(admit), Reason: "duplicate"}}},
		{"cancelled", events.TypeWorkloadCancelled, events.WorkloadCancelled{WorkloadID: "w", Reason: "by bob", Saga: admit},
			[]saga.Input{saga.StepFailed{Ref: asRef(admit), Reason: "by bob"}}},
		{"waiting", events.TypeWorkloadWaiting, events.WorkloadWaiting{WorkloadID: "w", Reason: "full", Saga: admit}, nil},
		{"submitted", events.TypeWorkloadSubmitted, events.WorkloadSubmitted{Saga: admit}, nil},
		{"without saga", events.TypeWorkloadAdmitted, events.WorkloadAdmitted{WorkloadID: "job-7"}, nil},
		{"another saga", events.TypeWorkloadAdmitted, events.WorkloadAdmitted{WorkloadID: "w", Saga: ref("nightly-build.run.3", "admit", 1, false)}, nil},
	}
	h := newHarness(t)
	for _, tt := range tests {
		rec := &recorder{}

		err := h.Svc.HandleAdmission(rec)(context.Background(), h.Event(t, tt.typ, tt.data))

		require.NoError(t, err, tt.name)
		assert.Equal(t, tt.want, rec.got, tt.name)
	}
}

func TestHandleAdmissionDeadLettersWhatCanNeverApply(t *testing.T) {
	h := newHarness(t)
	tests := []struct {
		name string
		typ  string
		data any
	}{
		{"unknown saga", events.TypeWorkloadReleased,
			events.WorkloadReleased{WorkloadID: "w", Saga: ref("env-abcdefgh2345.create.1", "admit", 1, true)}},
		{"not json", events.TypeWorkloadAdmitted, "not an object"},
	}
	for _, tt := range tests {
		err := h.Scheduler(t, tt.typ, tt.data)

		assert.True(t, bus.IsPermanent(err), "%s: %v", tt.name, err)
	}
}

// TestReconcileCatchesUpWithTheAdmitStep covers what a crash can leave
// between the environment and its create saga.
func TestReconcileCatchesUpWithTheAdmitStep(t *testing.T) {
	ctx := context.Background()
	t.Run("admitted saga, queued environment", func(t *testing.T) {
		h := newHarness(t)
		env := h.Create(t)
		createID := app.SagaID(env.ID, app.OpCreate, 1)
		require.NoError(t, h.Eng.Deliver(ctx, createID, saga.StepSucceeded{Ref: saga.Ref{ID: createID, Step: "admit", Attempt: 1}}))

		h.Reconcile(t)

		assert.Equal(t, domain.StateProvisioning, h.Env(t, env.ID).State)
	})
	t.Run("torn down environment, running create", func(t *testing.T) {
		h := newHarness(t)
		env := h.Create(t)
		createID := app.SagaID(env.ID, app.OpCreate, 1)
		_, err := h.Svc.Transition(ctx, env.ID, func(e domain.Environment) (domain.Environment, error) {
			return e.BeginTeardown(app.SagaID(e.ID, app.OpTeardown, e.Seq+1), "cancelled", at)
		})
		require.NoError(t, err)
		require.Equal(t, saga.StatusRunning, h.Saga(t, createID).Status)

		h.Reconcile(t)

		assert.Equal(t, saga.StatusCompensating, h.Saga(t, createID).Status)
		assert.Equal(t, domain.StateDecommissioning, h.Env(t, env.ID).State)
	})
}
