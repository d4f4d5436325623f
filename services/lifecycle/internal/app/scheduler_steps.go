package app

import (
	"fmt"

	"github.com/pave-platform/pave/pkg/events"
	"github.com/pave-platform/pave/pkg/saga"
)

// Steps of the environment sagas that talk to the scheduler.
const (
	StepAdmit   = "admit"
	StepSettle  = "settle"
	StepRelease = "release"
)

// Resources of a pool an environment uses: one "environments" unit for as
// long as it lives, and one "ops" unit (a concurrent provisioning
// operation) until it is provisioned.
const (
	resourceEnvironments = "environments"
	resourceOps          = "ops"
)

// submittedByDefault is the submitter of a create whose saga data does
// not name who asked for it.
const submittedByDefault = "lifecycle"

// admitStep queues the environment in the scheduler and waits, as long
// as the admission timeout, for its admission. A timeout submits the
// same workload id again: the scheduler keeps its place in the queue and
// answers with where it stands (admitted, or still waiting), so the
// second attempt only asks again, and recovers an answer that went
// missing. The second timeout gives up: the undo withdraws the workload
// and the environment fails.
func admitStep(p StepPolicy) saga.Step {
	return saga.Step{
		Name: StepAdmit, Do: submit, Undo: withdraw, Timeout: p.AdmissionTimeout,
		Retry:             saga.RetryPolicy{MaxAttempts: 2, Backoff: p.Retry.Backoff, MaxBackoff: p.Retry.MaxBackoff},
		CompensationRetry: p.CompensationRetry,
	}
}

func submit(inst saga.Instance, ref saga.Ref) (saga.Command, error) {
	d, err := readData(inst)
	if err != nil {
		return saga.Command{}, err
	}
	if d.Pool == "" {
		return saga.Command{}, fmt.Errorf("saga %s data has no admission pool", inst.ID)
	}
	by := d.RequestedBy
	if by == "" {
		by = submittedByDefault
	}
	s := toSaga(ref)
	return command(events.TypeSubmitCommand, events.SubmitCommand{
		Workload: events.WorkloadSpec{
			ID: d.EnvironmentID, Team: d.Team, Pool: d.Pool, Kind: events.WorkloadKindEnvironment,
			Demand:   map[string]int64{resourceEnvironments: 1, resourceOps: 1},
			Priority: 0,
			// An environment holds its admission until teardown; taking
			// it away would leave running resources unaccounted for.
			Preemptible: false,
		},
		Saga: &s, SubmittedBy: by,
	})
}

// withdraw compensates the admit step: it gives the admission back, or
// takes the workload out of the queue.
func withdraw(inst saga.Instance, ref saga.Ref) (*saga.Command, error) {
	c, err := releaseCommand(inst, ref, "environment creation compensated")
	return &c, err
}

// settle gives back the provisioning operation of a provisioned
// environment; it keeps its environments unit until teardown.
func settle(inst saga.Instance, ref saga.Ref) (saga.Command, error) {
	d, err := readData(inst)
	if err != nil {
		return saga.Command{}, err
	}
	s := toSaga(ref)
	return command(events.TypeSettleCommand, events.SettleCommand{
		WorkloadID: d.EnvironmentID, Release: map[string]int64{resourceOps: 1}, Saga: &s,
	})
}

// release ends a teardown: the environment's admission is given back.
func release(inst saga.Instance, ref saga.Ref) (saga.Command, error) {
	return releaseCommand(inst, ref, "environment torn down")
}

func releaseCommand(inst saga.Instance, ref saga.Ref, reason string) (saga.Command, error) {
	d, err := readData(inst)
	if err != nil {
		return saga.Command{}, err
	}
	s := toSaga(ref)
	return command(events.TypeReleaseCommand, events.ReleaseCommand{WorkloadID: d.EnvironmentID, Reason: reason, Saga: &s})
}
