package saga

import (
	"fmt"
	"time"
)

// advance runs step i, or completes the saga after the last step.
func (t *transition) advance(i int) {
	if i >= len(t.inst.Steps) {
		t.inst.Current = max(len(t.inst.Steps)-1, 0)
		t.finish(StatusCompleted)
		return
	}
	t.issue(i)
}

// issue puts the next forward attempt of step i in the outbox. A Do that
// cannot build its command fails the step for good: building is
// deterministic, so trying again cannot help.
func (t *transition) issue(i int) {
	s := &t.inst.Steps[i]
	t.inst.Current = i
	ref := Ref{ID: t.inst.ID, Step: s.Name, Attempt: s.Attempts + 1}
	err := call(func() error {
		cmd, err := t.def.Steps[i].Do(t.inst, ref)
		if err != nil {
			return err
		}
		return t.emitCommand(ref, cmd)
	})
	if err != nil {
		t.giveUp(i, fmt.Sprintf("build command: %v", err))
		return
	}
	s.Attempts++
	s.Status, s.Waiting = StepStatusRunning, false
	t.setDeadline(t.def.Steps[i].Timeout)
}

// call runs a Do or Undo, turning a panic into an error.
func call(f func() error) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("panic: %v", r)
		}
	}()
	return f()
}

// succeeded applies a success answer to a forward command. A success from
// any attempt issued so far completes a running step; the others are
// duplicates, except one arriving after the step's undo was issued.
func (t *transition) succeeded(ref Ref, output []byte) bool {
	i, s, ok := t.step(ref)
	if !ok || ref.Attempt < 1 || ref.Attempt > s.Attempts {
		return false
	}
	if s.UndoAttempts > 0 {
		return t.hanging(i, StepStatusSucceeded)
	}
	if t.inst.Status != StatusRunning || i != t.inst.Current || s.Status != StepStatusRunning {
		return false
	}
	s.Status, s.Waiting, s.Output = StepStatusSucceeded, false, output
	t.advance(i + 1)
	return true
}

// failed applies a failure answer to a forward command. Only the answer
// to the attempt in flight counts; older attempts are stale.
func (t *transition) failed(ref Ref, reason string, retryable bool) bool {
	i, s, ok := t.step(ref)
	if !ok || ref.Attempt < 1 || ref.Attempt > s.Attempts {
		return false
	}
	if s.UndoAttempts > 0 {
		return t.hanging(i, StepStatusFailed)
	}
	if t.inst.Status != StatusRunning || i != t.inst.Current || s.Status != StepStatusRunning ||
		s.Waiting || ref.Attempt != s.Attempts {
		return false
	}
	t.forwardFailed(i, reason, retryable)
	return true
}

// forwardFailed retries step i if the failure and the policy allow, and
// compensates the saga otherwise.
func (t *transition) forwardFailed(i int, reason string, retryable bool) {
	s := &t.inst.Steps[i]
	s.Error = reason
	policy := t.def.Steps[i].Retry
	if !retryable || s.Attempts >= policy.attempts() {
		t.giveUp(i, reason)
		return
	}
	if d := policy.delay(s.Attempts); d > 0 {
		s.Waiting = true
		t.setDeadline(d)
		return
	}
	t.issue(i)
}

// giveUp fails step i for good and compensates the saga.
func (t *transition) giveUp(i int, reason string) {
	s := &t.inst.Steps[i]
	s.Status, s.Waiting, s.Error = StepStatusFailed, false, reason
	t.compensate(fmt.Sprintf("step %s: %s", s.Name, reason))
}

// timeout fires the current deadline: a due retry is issued, an attempt
// in flight has timed out.
func (t *transition) timeout(deadline time.Time) bool {
	if t.inst.Deadline.IsZero() || !deadline.Equal(t.inst.Deadline) || t.now.Before(t.inst.Deadline) {
		return false
	}
	i := t.inst.Current
	s := &t.inst.Steps[i]
	timedOut := fmt.Sprintf("attempt %d timed out after %s", s.Attempts, t.def.Steps[i].Timeout)
	switch {
	case t.inst.Status == StatusRunning && s.Waiting:
		t.issue(i)
	case t.inst.Status == StatusRunning:
		t.forwardFailed(i, timedOut, true)
	case t.inst.Status == StatusCompensating && s.Waiting:
		t.retryUndo(i)
	case t.inst.Status == StatusCompensating:
		timedOut = fmt.Sprintf("undo attempt %d timed out after %s", s.UndoAttempts, t.def.Steps[i].Timeout)
		t.undoFailedNow(i, timedOut, true)
	default:
		return false
	}
	return true
}

func (t *transition) abort(reason string) bool {
	if t.inst.Status != StatusRunning {
		return false
	}
	t.compensate("aborted: " + reason)
	return true
}
