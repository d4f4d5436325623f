package saga_test

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/pave-platform/pave/pkg/events"
	"github.com/pave-platform/pave/pkg/saga"
)

func TestTransitionEmitsCommandThenProgressAndKeepsThemInTheOutbox(t *testing.T) {
	inst, effects, err := saga.Transition(def3(), saga.Instance{ID: "env-7"}, saga.Start{Data: json.RawMessage(`{"n":1}`)}, t0)
	require.NoError(t, err)

	require.Len(t, effects, 2)
	assert.Equal(t, effects, inst.Outbox)
	cmd, progress := effects[0], effects[1]
	assert.Equal(t, saga.Effect{Kind: saga.EffectCommand, ID: "env-7/a/1", Type: typeDo,
		Data: mustJSON(cmdData{Saga: saga.Ref{ID: "env-7", Step: "a", Attempt: 1}, Resource: "env-7/a"}),
		Ref:  &saga.Ref{ID: "env-7", Step: "a", Attempt: 1}}, cmd)

	assert.Equal(t, saga.EffectProgress, progress.Kind)
	assert.Equal(t, "env-7/progress/1", progress.ID)
	assert.Equal(t, events.TypeSagaProgressed, progress.Type)
	var p events.SagaProgressed
	require.NoError(t, json.Unmarshal(progress.Data, &p))
	assert.Equal(t, events.SagaProgressed{
		SagaID: "env-7", Definition: "test", Seq: 1, Input: "start", Status: "running", Step: "a",
		Deadline: t0.Add(10 * time.Second), At: t0,
		Steps: []events.SagaStep{
			{Name: "a", Status: "running", Attempts: 1}, {Name: "b", Status: "pending"}, {Name: "c", Status: "pending"},
		},
	}, p)
}

func TestTransitionAlertNamesStepAndReason(t *testing.T) {
	r := drive(t, def3(), start(), fail("a", 1, false), undoFail("a", 1, false))

	last := r.inst.Outbox[len(r.inst.Outbox)-2]
	require.Equal(t, saga.EffectAlert, last.Kind)
	assert.Equal(t, "s1/alert/3", last.ID)
	var a events.SagaAlerted
	require.NoError(t, json.Unmarshal(last.Data, &a))
	assert.Equal(t, events.SagaAlerted{SagaID: "s1", Definition: "test", Seq: 3, Alert: "compensation_failed",
		Step: "a", Reason: "compensate step a: a stuck", At: t0.Add(3 * time.Second)}, a)
	assert.Equal(t, "compensate step a: a stuck; compensating because step a: a broke", r.inst.Reason)
}

func TestTransitionBackoffDoublesUpToItsCap(t *testing.T) {
	def := withStep(def3(), 0, func(s *saga.Step) {
		s.Retry = saga.RetryPolicy{MaxAttempts: 5, Backoff: time.Second, MaxBackoff: 3 * time.Second}
	})
	inst, _, err := saga.Transition(def, saga.Instance{ID: "s1"}, saga.Start{}, t0)
	require.NoError(t, err)
	var waits []time.Duration
	for attempt := 1; attempt <= 4; attempt++ {
		now := t0.Add(time.Duration(attempt) * time.Minute)
		inst, _, err = saga.Transition(def, inst, saga.StepFailed{Ref: saga.Ref{ID: "s1", Step: "a", Attempt: attempt}, Retryable: true}, now)
		require.NoError(t, err)
		waits = append(waits, inst.Deadline.Sub(now))
		inst, _, err = saga.Transition(def, inst, saga.Timeout{Deadline: inst.Deadline}, inst.Deadline)
		require.NoError(t, err)
	}

	assert.Equal(t, []time.Duration{time.Second, 2 * time.Second, 3 * time.Second, 3 * time.Second}, waits)
	assert.Equal(t, 5, inst.Steps[0].Attempts)
}

func TestTransitionIgnoresATimeoutBeforeItsDeadline(t *testing.T) {
	inst, _, err := saga.Transition(def3(), saga.Instance{ID: "s1"}, saga.Start{}, t0)
	require.NoError(t, err)

	next, effects, err := saga.Transition(def3(), inst, saga.Timeout{Deadline: inst.Deadline}, inst.Deadline.Add(-time.Millisecond))

	require.NoError(t, err)
	assert.Empty(t, effects)
	assert.Equal(t, inst, next)
}

func TestTransitionIsPureAndDeterministic(t *testing.T) {
	r := drive(t, def3(), start(), ok("a", 1), fail("b", 1, true))
	before, err := json.Marshal(r.inst)
	require.NoError(t, err)
	in := saga.Timeout{Deadline: r.inst.Deadline}

	first, firstEffects, err := saga.Transition(def3(), r.inst, in, r.inst.Deadline)
	require.NoError(t, err)
	second, secondEffects, err := saga.Transition(def3(), r.inst, in, r.inst.Deadline)
	require.NoError(t, err)

	after, err := json.Marshal(r.inst)
	require.NoError(t, err)
	assert.JSONEq(t, string(before), string(after), "the input instance was modified")
	assert.Equal(t, first, second)
	assert.Equal(t, firstEffects, secondEffects)
}

func TestTransitionRecordsHangingAnswers(t *testing.T) {
	r := drive(t, def3(), start(), fail("a", 1, false), ok("a", 1))

	a, _ := r.inst.Step("a")
	assert.Equal(t, 1, a.Hanging)
	assert.True(t, a.Redo, "a forward answer during the undo asks for another undo")
}

func TestTransitionRefusesInputsThatCannotApply(t *testing.T) {
	started := drive(t, def3(), start()).inst
	renamed := def3()
	renamed.Name = "other"
	reordered := def3()
	reordered.Steps[0], reordered.Steps[1] = reordered.Steps[1], reordered.Steps[0]
	noTimeout := withStep(def3(), 2, func(s *saga.Step) { s.Timeout = 0 })
	tests := []struct {
		name string
		def  saga.Definition
		inst saga.Instance
		in   saga.Input
		want error
	}{
		{"answer for another saga", def3(), started, saga.StepSucceeded{Ref: saga.Ref{ID: "s2", Step: "a", Attempt: 1}}, saga.ErrInvalidInput},
		{"not started", def3(), saga.Instance{ID: "s1"}, saga.Abort{}, saga.ErrInvalidInput},
		{"no input", def3(), started, nil, saga.ErrInvalidInput},
		{"id with a slash", def3(), saga.Instance{ID: "a/b"}, saga.Start{}, saga.ErrInvalidInput},
		{"another definition", renamed, started, saga.Abort{}, saga.ErrDefinitionMismatch},
		{"steps changed", reordered, started, saga.Abort{}, saga.ErrDefinitionMismatch},
		{"step without timeout", noTimeout, started, saga.Abort{}, saga.ErrInvalidDefinition},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, effects, err := saga.Transition(tt.def, tt.inst, tt.in, t0)

			assert.ErrorIs(t, err, tt.want)
			assert.Empty(t, effects)
			assert.Equal(t, tt.inst, got)
		})
	}
}

func TestRefEventID(t *testing.T) {
	assert.Equal(t, "env-1/provision/3", saga.Ref{ID: "env-1", Step: "provision", Attempt: 3}.EventID())
	assert.Equal(t, "env-1/provision/undo/2", saga.Ref{ID: "env-1", Step: "provision", Attempt: 2, Compensation: true}.EventID())
}
