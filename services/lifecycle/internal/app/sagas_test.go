package app_test

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/pave-platform/pave/pkg/events"
	"github.com/pave-platform/pave/pkg/saga"
	"github.com/pave-platform/pave/pkg/schema"
	"github.com/pave-platform/pave/services/lifecycle/internal/app"
	"github.com/pave-platform/pave/services/lifecycle/internal/apptest"
)

func shopDefinitions(t *testing.T, p app.StepPolicy) map[string]saga.Definition {
	t.Helper()
	cat := apptest.ShopCatalog(t)
	tpl, err := cat.Get("shop", "1.0.0")
	require.NoError(t, err)
	byName := map[string]saga.Definition{}
	for _, d := range app.Definitions(cat, p) {
		byName[d.Name] = d
	}
	require.Len(t, byName, 3)
	return map[string]saga.Definition{
		app.OpCreate:   byName[app.DefinitionName(app.OpCreate, tpl)],
		app.OpUpdate:   byName[app.DefinitionName(app.OpUpdate, tpl)],
		app.OpTeardown: byName[app.DefinitionName(app.OpTeardown, tpl)],
	}
}

func testPolicy() app.StepPolicy {
	p := app.DefaultStepPolicy()
	p.AdmissionTimeout = 45 * time.Minute
	return p
}

func TestSagaStepsAroundTheScheduler(t *testing.T) {
	defs := shopDefinitions(t, testPolicy())
	tests := []struct {
		op   string
		want []string
	}{
		{app.OpCreate, []string{"admit", "provision-db", "provision-app", "issue-credentials", "settle"}},
		{app.OpUpdate, []string{"update-db", "update-app", "issue-credentials"}},
		{app.OpTeardown, []string{"revoke-grants", "deprovision-app", "sanitize-db", "deprovision-db", "release"}},
	}
	for _, tt := range tests {
		assert.Equal(t, tt.want, apptest.StepNames(defs[tt.op]), tt.op)
	}
}

func TestSchedulerStepPolicies(t *testing.T) {
	p := testPolicy()
	defs := shopDefinitions(t, p)
	create, teardown := defs[app.OpCreate].Steps, defs[app.OpTeardown].Steps
	admit, settle, release := create[0], create[len(create)-1], teardown[len(teardown)-1]

	assert.Equal(t, 45*time.Minute, admit.Timeout, "waiting in the queue is normal")
	assert.Equal(t, 2, admit.Retry.MaxAttempts, "a timeout asks once more, then gives up")
	assert.NotNil(t, admit.Undo, "a compensated create leaves the queue")
	assert.Equal(t, p.CompensationRetry, admit.CompensationRetry)

	assert.Nil(t, settle.Undo)
	assert.Equal(t, p.Timeout, settle.Timeout)
	assert.Equal(t, 10, settle.Retry.MaxAttempts, "settling patiently beats undoing a provisioned environment")

	assert.Nil(t, release.Undo)
	assert.Equal(t, teardown[0].Retry, release.Retry, "retried as patiently as the other teardown steps")
	assert.Equal(t, p.Timeout, release.Timeout)
}

func instance(t *testing.T, id string, d app.SagaData) saga.Instance {
	t.Helper()
	raw, err := json.Marshal(d)
	require.NoError(t, err)
	return saga.Instance{ID: id, Data: raw}
}

// TestSchedulerCommands builds each command the sagas send the scheduler,
// checks its data and validates it against the command's JSON Schema.
func TestSchedulerCommands(t *testing.T) {
	reg, err := schema.Default()
	require.NoError(t, err)
	defs := shopDefinitions(t, testPolicy())
	create, teardown := defs[app.OpCreate].Steps, defs[app.OpTeardown].Steps
	data := app.SagaData{EnvironmentID: "env-abcdefgh2345", Team: "payments", Pool: "gpu", RequestedBy: "alice"}
	anonymous := data
	anonymous.RequestedBy = ""
	const createID, teardownID = "env-abcdefgh2345.create.1", "env-abcdefgh2345.teardown.6"
	undo := func(s saga.Step) func(saga.Instance, saga.Ref) (saga.Command, error) {
		return func(i saga.Instance, r saga.Ref) (saga.Command, error) {
			c, err := s.Undo(i, r)
			require.NotNil(t, c)
			return *c, err
		}
	}
	tests := []struct {
		name  string
		build func(saga.Instance, saga.Ref) (saga.Command, error)
		data  app.SagaData
		ref   saga.Ref
		typ   string
		want  any
	}{
		{"admit", create[0].Do, data, saga.Ref{ID: createID, Step: "admit", Attempt: 2}, events.TypeSubmitCommand,
			events.SubmitCommand{Workload: events.WorkloadSpec{ID: "env-abcdefgh2345", Team: "payments", Pool: "gpu",
				Kind: "environment", Demand: map[string]int64{"environments": 1, "ops": 1}},
				Saga: ref(createID, "admit", 2, false), SubmittedBy: "alice"}},
		{"admit without requester", create[0].Do, anonymous, saga.Ref{ID: createID, Step: "admit", Attempt: 1}, events.TypeSubmitCommand,
			events.SubmitCommand{Workload: events.WorkloadSpec{ID: "env-abcdefgh2345", Team: "payments", Pool: "gpu",
				Kind: "environment", Demand: map[string]int64{"environments": 1, "ops": 1}},
				Saga: ref(createID, "admit", 1, false), SubmittedBy: "lifecycle"}},
		{"undo admit", undo(create[0]), data, saga.Ref{ID: createID, Step: "admit", Attempt: 1, Compensation: true},
			events.TypeReleaseCommand, events.ReleaseCommand{WorkloadID: "env-abcdefgh2345",
				Reason: "environment creation compensated", Saga: ref(createID, "admit", 1, true)}},
		{"settle", create[len(create)-1].Do, data, saga.Ref{ID: createID, Step: "settle", Attempt: 1}, events.TypeSettleCommand,
			events.SettleCommand{WorkloadID: "env-abcdefgh2345", Release: map[string]int64{"ops": 1},
				Saga: ref(createID, "settle", 1, false)}},
		{"release", teardown[len(teardown)-1].Do, data, saga.Ref{ID: teardownID, Step: "release", Attempt: 3},
			events.TypeReleaseCommand, events.ReleaseCommand{WorkloadID: "env-abcdefgh2345",
				Reason: "environment torn down", Saga: ref(teardownID, "release", 3, false)}},
	}
	for _, tt := range tests {
		cmd, err := tt.build(instance(t, tt.ref.ID, tt.data), tt.ref)
		require.NoError(t, err, tt.name)

		assert.Equal(t, tt.typ, cmd.Type, tt.name)
		assert.NoError(t, reg.Validate(cmd.Type, cmd.Data), tt.name)
		want, err := json.Marshal(tt.want)
		require.NoError(t, err)
		assert.JSONEq(t, string(want), string(cmd.Data), tt.name)
	}
}

func TestAdmitWithoutPoolCannotBuild(t *testing.T) {
	admit := shopDefinitions(t, testPolicy())[app.OpCreate].Steps[0]

	_, err := admit.Do(instance(t, "env-abcdefgh2345.create.1", app.SagaData{EnvironmentID: "env-abcdefgh2345", Team: "payments"}),
		saga.Ref{ID: "env-abcdefgh2345.create.1", Step: "admit", Attempt: 1})

	assert.ErrorContains(t, err, "no admission pool")
}

// TestAdmitTimeoutKeepsTheQueuePlace runs the pure saga transition: a
// timed-out admit submits the same workload again, with nothing released
// in between; only the second timeout compensates, releasing it.
func TestAdmitTimeoutKeepsTheQueuePlace(t *testing.T) {
	def := shopDefinitions(t, testPolicy())[app.OpCreate]
	data, err := json.Marshal(app.SagaData{EnvironmentID: "env-abcdefgh2345", Team: "payments", Pool: "platform"})
	require.NoError(t, err)
	now := time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC)
	inst, effects, err := saga.Transition(def, saga.Instance{ID: "env-abcdefgh2345.create.1"}, saga.Start{Data: data}, now)
	require.NoError(t, err)
	var sent []saga.Effect
	sent = append(sent, commandsOf(effects)...)
	assert.Equal(t, now.Add(45*time.Minute), inst.Deadline)

	for range 3 { // attempt 1 times out, the backoff passes, attempt 2 times out
		now = inst.Deadline
		inst, effects, err = saga.Transition(def, inst, saga.Timeout{Deadline: inst.Deadline}, now)
		require.NoError(t, err)
		sent = append(sent, commandsOf(effects)...)
	}

	require.Len(t, sent, 3)
	assert.Equal(t, []string{events.TypeSubmitCommand, events.TypeSubmitCommand, events.TypeReleaseCommand},
		[]string{sent[0].Type, sent[1].Type, sent[2].Type})
	var first, second events.SubmitCommand
	require.NoError(t, json.Unmarshal(sent[0].Data, &first))
	require.NoError(t, json.Unmarshal(sent[1].Data, &second))
	assert.Equal(t, first.Workload, second.Workload, "the same workload id: the scheduler keeps its place")
	assert.Equal(t, 2, second.Saga.Attempt)
	assert.Equal(t, saga.StatusCompensating, inst.Status)
	assert.Equal(t, &saga.Ref{ID: inst.ID, Step: "admit", Attempt: 1, Compensation: true}, sent[2].Ref)
}

func commandsOf(effects []saga.Effect) []saga.Effect {
	var out []saga.Effect
	for _, e := range effects {
		if e.Kind == saga.EffectCommand {
			out = append(out, e)
		}
	}
	return out
}
