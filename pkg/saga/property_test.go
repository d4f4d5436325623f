package saga_test

import (
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/pave-platform/pave/pkg/saga"
	"github.com/pave-platform/pave/pkg/schema"
)

// TestSagasNeverForgetAResource runs thousands of random sagas through the
// simulated world and checks, for each, that it ends completed with every
// resource in place, compensated with none left, or compensation_failed
// with an alert, every other step undone — and then, once the failing
// undos' servers are back, that a resumed compensation leaves nothing —
// with deterministic event ids throughout.
func TestSagasNeverForgetAResource(t *testing.T) {
	scenarios := 3000
	if testing.Short() || raceEnabled {
		scenarios = 500
	}
	reg, err := schema.Default()
	require.NoError(t, err)
	ends := map[saga.Status]int{}
	for seed := uint64(1); seed <= uint64(scenarios); seed++ {
		s := newSim(seed)
		if seed <= 200 {
			s.validate = reg.Validate
		}
		err := s.run()
		if err == nil {
			err = s.check()
		}
		status := s.load().Status
		if err == nil && status == saga.StatusCompensationFailed {
			err = s.healAndResume()
		}
		if err != nil {
			t.Fatalf("seed %d: %v\ndefinition: %d steps, chaos %+v\n%s", seed, err, len(s.def.Steps), s.chaos, s.tail(80))
		}
		ends[status]++
	}
	t.Logf("%d scenarios ended: %v", scenarios, ends)
	for _, st := range []saga.Status{saga.StatusCompleted, saga.StatusCompensated, saga.StatusCompensationFailed} {
		assert.Positive(t, ends[st], "no scenario ended %s: the generator does not cover it", st)
	}
}

// TestSagaScenariosReplayExactly runs scenarios twice: the same inputs
// give the same instance and the same published events, byte for byte.
func TestSagaScenariosReplayExactly(t *testing.T) {
	for seed := uint64(1); seed <= 300; seed++ {
		first, second := newSim(seed), newSim(seed)
		require.NoError(t, first.run(), "seed %d", seed)
		require.NoError(t, second.run(), "seed %d", seed)

		assert.JSONEq(t, string(first.stored), string(second.stored), "seed %d", seed)
		assert.True(t, maps.EqualFunc(first.published, second.published, func(a, b []byte) bool { return string(a) == string(b) }),
			"seed %d: published events differ", seed)
	}
}

// run starts the saga and acts at random until nothing is left to happen.
func (s *sim) run() error {
	if _, err := s.deliver(saga.Start{Data: json.RawMessage(`{"team":"payments"}`)}); err != nil {
		return err
	}
	return s.settle()
}

// healAndResume brings back the servers whose undos failed and resumes
// the compensation, as reconcile does, until it ends compensated with
// nothing left. A round may still fail on a timer that fired before a slow
// answer (impatience), so reconcile's rounds go on; a few must do.
// Resumed rounds raise no second compensation_failed alert.
func (s *sim) healAndResume() error {
	s.chaos.undoFail, s.chaos.undoPermanent = 0, 0
	alerts := len(s.alerts)
	inst := s.load()
	for round := 0; inst.Status == saga.StatusCompensationFailed; round++ {
		if round == 10 {
			return fmt.Errorf("10 resumed rounds with every server back, still %s: %s", inst.Status, inst.Reason)
		}
		if changed, err := s.deliver(saga.Resume{}); err != nil || !changed {
			return fmt.Errorf("resume changed nothing (%v)", err)
		}
		if err := s.settle(); err != nil {
			return err
		}
		inst = s.load()
	}
	if inst.Status != saga.StatusCompensated {
		return fmt.Errorf("resumed with every server back, ended %s", inst.Status)
	}
	for _, a := range s.alerts[alerts:] {
		if a.Alert == "compensation_failed" {
			return fmt.Errorf("a resumed round alerted compensation_failed again: %+v", a)
		}
	}
	return errors.Join(append(s.checkCompensated(inst), s.checkIDs(inst)...)...)
}

// settle acts at random until nothing is left to happen.
func (s *sim) settle() error {
	for range 50_000 {
		inst := s.load()
		if len(s.network) == 0 && len(inst.Outbox) == 0 {
			if inst.Deadline.IsZero() {
				return nil
			}
			if err := s.fire(inst.Deadline); err != nil {
				return err
			}
			continue
		}
		if err := s.act(inst); err != nil {
			return err
		}
	}
	return errors.New("did not settle after 50,000 actions")
}

func (s *sim) act(inst saga.Instance) error {
	r := s.rng.Float64()
	switch {
	case r < 0.45 && len(s.network) > 0:
		return s.receive()
	case r < 0.70 && len(inst.Outbox) > 0:
		return s.flush()
	case r < 0.70+s.chaos.impatience && !inst.Deadline.IsZero():
		return s.fire(inst.Deadline)
	case r < 0.90:
		return s.expectIgnored(s.staleTimeout(inst))
	case r < 0.96:
		return s.expectIgnored(s.forgedAnswer(inst))
	case r < 0.97 && !s.aborted:
		s.aborted = true
		_, err := s.deliver(saga.Abort{Reason: "chaos"})
		return err
	}
	return nil
}

// receive takes a random message off the network — reordering — and
// sometimes leaves a copy behind — duplicate delivery.
func (s *sim) receive() error {
	i := s.rng.IntN(len(s.network))
	m := s.network[i]
	if s.rng.Float64() >= s.chaos.dup {
		s.network = append(s.network[:i], s.network[i+1:]...)
	}
	s.now = s.now.Add(time.Duration(s.rng.IntN(2000)) * time.Millisecond)
	if m.cmd != nil {
		s.work(*m.cmd)
		return nil
	}
	_, err := s.deliver(m.answer)
	return err
}

// fire is the engine's timer: the current deadline has passed.
func (s *sim) fire(deadline time.Time) error {
	if deadline.After(s.now) {
		s.now = deadline
	}
	changed, err := s.deliver(saga.Timeout{Deadline: deadline})
	if err == nil && !changed {
		err = fmt.Errorf("a due timeout for %s changed nothing", deadline.Sub(t0))
	}
	return err
}

// staleTimeout is a timer that fires for a deadline already replaced, as a
// second replica does.
func (s *sim) staleTimeout(inst saga.Instance) saga.Input {
	if len(s.deadlines) == 0 {
		return nil
	}
	d := s.deadlines[s.rng.IntN(len(s.deadlines))]
	if d.Equal(inst.Deadline) {
		return nil
	}
	return saga.Timeout{Deadline: d}
}

// forgedAnswer names a step or an attempt that never existed.
func (s *sim) forgedAnswer(inst saga.Instance) saga.Input {
	step := inst.Steps[s.rng.IntN(len(inst.Steps))]
	refs := []saga.Ref{
		{ID: inst.ID, Step: "no-such-step", Attempt: 1},
		{ID: inst.ID, Step: step.Name, Attempt: step.Attempts + 1},
		{ID: inst.ID, Step: step.Name, Attempt: step.UndoAttempts + 1, Compensation: true},
		{ID: inst.ID, Step: step.Name, Attempt: 0},
	}
	ref := refs[s.rng.IntN(len(refs))]
	if s.rng.IntN(2) == 0 {
		return saga.StepSucceeded{Ref: ref}
	}
	return saga.StepFailed{Ref: ref, Reason: "forged", Retryable: s.rng.IntN(2) == 0}
}

func (s *sim) expectIgnored(in saga.Input) error {
	if in == nil {
		return nil
	}
	changed, err := s.deliver(in)
	if err == nil && changed {
		err = fmt.Errorf("%s should have been ignored", describe(in))
	}
	return err
}

func (s *sim) tail(n int) string {
	return strings.Join(s.trace[max(len(s.trace)-n, 0):], "\n")
}

// check asserts the end state against the world.
func (s *sim) check() error {
	inst := s.load()
	var errs []error
	switch inst.Status {
	case saga.StatusCompleted:
		errs = append(errs, s.checkCompleted(inst)...)
	case saga.StatusCompensated:
		errs = append(errs, s.checkCompensated(inst)...)
	case saga.StatusCompensationFailed:
		if len(s.alerts) == 0 || s.alerts[0].Alert != "compensation_failed" {
			errs = append(errs, fmt.Errorf("compensation_failed without a compensation_failed alert: %+v", s.alerts))
		}
		errs = append(errs, s.checkFinishedWhatItCould(inst)...)
	default:
		errs = append(errs, fmt.Errorf("ended %q, not terminal", inst.Status))
	}
	return errors.Join(append(errs, s.checkIDs(inst)...)...)
}

func (s *sim) checkCompleted(inst saga.Instance) []error {
	var errs []error
	if s.undoSent > 0 {
		errs = append(errs, fmt.Errorf("completed after %d undo commands", s.undoSent))
	}
	for _, st := range inst.Steps {
		if st.Status != saga.StepStatusSucceeded {
			errs = append(errs, fmt.Errorf("completed with step %s %s", st.Name, st.Status))
		}
		if s.resources[st.Name] && !s.world[st.Name] {
			errs = append(errs, fmt.Errorf("completed but the resource of step %s does not exist", st.Name))
		}
	}
	return errs
}

func (s *sim) checkCompensated(inst saga.Instance) []error {
	var errs []error
	for _, st := range inst.Steps {
		want := saga.StepStatusSkipped
		if s.doSent[st.Name] {
			want = saga.StepStatusCompensated
		}
		if st.Status != want {
			errs = append(errs, fmt.Errorf("compensated with step %s %s, want %s", st.Name, st.Status, want))
		}
		if s.world[st.Name] {
			errs = append(errs, fmt.Errorf("compensated but step %s left its resource behind", st.Name))
		}
	}
	return errs
}

// checkIDs: every command id is its Ref's, progress ids run 1..Seq
// without a gap, and published events satisfy their schemas.
func (s *sim) checkIDs(inst saga.Instance) []error {
	var errs []error
	progress := map[int]bool{}
	for id, data := range s.published {
		rest, _ := strings.CutPrefix(id, inst.ID+"/")
		if n, isProgress := strings.CutPrefix(rest, "progress/"); isProgress {
			seq, _ := strconv.Atoi(n)
			progress[seq] = true
			continue
		}
		if strings.HasPrefix(rest, "alert/") {
			continue
		}
		var d cmdData
		if err := json.Unmarshal(data, &d); err != nil || d.Saga.EventID() != id {
			errs = append(errs, fmt.Errorf("command %s carries ref %+v", id, d.Saga))
		}
	}
	for seq := 1; seq <= inst.Seq; seq++ {
		if !progress[seq] {
			errs = append(errs, fmt.Errorf("progress %d of %d was never published", seq, inst.Seq))
		}
	}
	if len(progress) != inst.Seq {
		errs = append(errs, fmt.Errorf("%d progress events for %d transitions", len(progress), inst.Seq))
	}
	return errs
}

// checkFinishedWhatItCould: a compensation_failed saga undid every step
// whose undo did not give up; only a late answer (hanging) may have
// brought one of them back.
func (s *sim) checkFinishedWhatItCould(inst saga.Instance) []error {
	var errs []error
	for _, st := range inst.Steps {
		switch {
		case st.UndoFailed || st.Hanging > 0:
		case st.Status != saga.StepStatusCompensated && st.Status != saga.StepStatusSkipped:
			errs = append(errs, fmt.Errorf("compensation_failed with step %s %s: not undone", st.Name, st.Status))
		case s.world[st.Name]:
			errs = append(errs, fmt.Errorf("compensation_failed and step %s, undone, left its resource", st.Name))
		}
	}
	return errs
}
