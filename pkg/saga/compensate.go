package saga

import (
	"fmt"
	"strings"
	"time"
)

// compensate turns the saga around: the steps that may have taken effect
// are undone one at a time, the highest first.
func (t *transition) compensate(reason string) {
	t.inst.Status = StatusCompensating
	t.inst.Reason, t.inst.Cause = reason, reason
	t.inst.Deadline = time.Time{}
	t.nextUndo()
}

// nextUndo starts a round of compensation for the highest step that needs
// one, or ends the compensation. A step needs one when it issued a forward
// command — succeeded, failed or still in flight, since any of them may
// have taken effect. A step that never issued a command is skipped: there
// is nothing a compensation could find (null compensation). A step whose
// undo gave up is passed over, so every other step is still undone; the
// compensation then ends compensation_failed, naming each step left.
func (t *transition) nextUndo() {
	for i := len(t.inst.Steps) - 1; i >= 0; i-- {
		s := &t.inst.Steps[i]
		switch {
		case s.Status == StepStatusCompensated || s.Status == StepStatusSkipped || s.UndoFailed:
			continue
		case s.Attempts == 0:
			s.Status, s.Waiting = StepStatusSkipped, false
			continue
		}
		s.UndoTries, s.Redo = 0, false
		t.issueUndo(i)
		if t.inst.Status != StatusCompensating || s.Status != StepStatusCompensated {
			return
		}
	}
	t.endCompensation()
}

// endCompensation finishes compensated, or compensation_failed when an
// undo gave up: the reason names every step left, highest first, and why.
func (t *transition) endCompensation() {
	var left []string
	first := -1
	for i := len(t.inst.Steps) - 1; i >= 0; i-- {
		if s := t.inst.Steps[i]; s.UndoFailed {
			left = append(left, fmt.Sprintf("compensate step %s: %s", s.Name, strings.TrimPrefix(s.Error, "compensation: ")))
			first = i
		}
	}
	if first < 0 {
		t.inst.Reason = t.inst.Cause
		t.finish(StatusCompensated)
		return
	}
	why := strings.Join(left, "; ")
	if t.inst.Cause != "" {
		why += "; compensating because " + t.inst.Cause
	}
	t.inst.Reason, t.inst.Current = why, first
	t.finish(StatusCompensationFailed)
}

// resume starts one more round of compensation for a saga whose
// compensation failed: each step whose undo gave up, or that answered
// after its undo, is undone again with its full retry policy.
func (t *transition) resume() bool {
	if t.inst.Status != StatusCompensationFailed {
		return false
	}
	for i := range t.inst.Steps {
		if s := &t.inst.Steps[i]; s.UndoFailed {
			s.UndoFailed, s.Status = false, StepStatusFailed
		}
	}
	t.inst.Resumes++
	t.inst.Status = StatusCompensating
	t.nextUndo()
	return true
}

// issueUndo puts the next undo attempt of step i in the outbox, or marks
// the step compensated when it has nothing to undo.
func (t *transition) issueUndo(i int) {
	s := &t.inst.Steps[i]
	t.inst.Current = i
	ref := Ref{ID: t.inst.ID, Step: s.Name, Attempt: s.UndoAttempts + 1, Compensation: true}
	undo := t.def.Steps[i].Undo
	issued := false
	err := call(func() error {
		if undo == nil {
			return nil
		}
		cmd, err := undo(t.inst, ref)
		if err != nil || cmd == nil {
			return err
		}
		issued = true
		return t.emitCommand(ref, *cmd)
	})
	switch {
	case err != nil:
		t.compensationFailed(i, fmt.Sprintf("build undo command: %v", err))
	case !issued:
		s.Status, s.Waiting = StepStatusCompensated, false
	default:
		s.UndoAttempts++
		s.UndoTries++
		s.Status, s.Waiting = StepStatusCompensating, false
		t.setDeadline(t.def.Steps[i].Timeout)
	}
}

// retryUndo issues the next undo attempt of step i and moves on if the
// step turns out to have nothing to undo.
func (t *transition) retryUndo(i int) {
	t.issueUndo(i)
	if t.inst.Steps[i].Status == StepStatusCompensated {
		t.nextUndo()
	}
}

// undoSucceeded applies a success answer to an undo command of the
// current round. If a forward answer arrived meanwhile, the step is undone
// once more: the receiver may have run the forward command after the undo.
func (t *transition) undoSucceeded(ref Ref) bool {
	_, s, ok := t.step(ref)
	if !ok || s.Status != StepStatusCompensating || !inRound(*s, ref.Attempt) {
		return false
	}
	s.Waiting = false
	if s.Redo {
		s.Status = StepStatusSucceeded
	} else {
		s.Status = StepStatusCompensated
	}
	t.nextUndo()
	return true
}

func inRound(s StepState, attempt int) bool {
	return attempt > s.UndoAttempts-s.UndoTries && attempt <= s.UndoAttempts
}

// undoFailed applies a failure answer to the undo attempt in flight.
func (t *transition) undoFailed(ref Ref, reason string, retryable bool) bool {
	i, s, ok := t.step(ref)
	if !ok || s.Status != StepStatusCompensating || s.Waiting || ref.Attempt != s.UndoAttempts {
		return false
	}
	t.undoFailedNow(i, reason, retryable)
	return true
}

// undoFailedNow retries the undo of step i if the failure and the policy
// allow, and stops the saga with an alert otherwise.
func (t *transition) undoFailedNow(i int, reason string, retryable bool) {
	s := &t.inst.Steps[i]
	s.Error = reason
	policy := t.def.Steps[i].CompensationRetry
	if !retryable || s.UndoTries >= policy.attempts() {
		t.compensationFailed(i, reason)
		return
	}
	if d := policy.delay(s.UndoTries); d > 0 {
		s.Waiting = true
		t.setDeadline(d)
		return
	}
	t.retryUndo(i)
}

// compensationFailed gives up the undo of step i: it may hold a resource
// that nobody releases, so a human is told (once: not again on a resumed
// round), and the compensation goes on with the other steps.
func (t *transition) compensationFailed(i int, reason string) {
	s := &t.inst.Steps[i]
	s.Status, s.Waiting, s.Error, s.UndoFailed = StepStatusFailed, false, "compensation: "+reason, true
	t.inst.Deadline = time.Time{}
	if t.inst.Resumes == 0 {
		t.emitAlert(i, "compensation_failed", fmt.Sprintf("compensate step %s: %s", s.Name, reason))
	}
	t.nextUndo()
}

// hanging records a forward answer that arrived after the step's undo was
// issued: the forward command may have run after the undo, so the step is
// undone again. After compensation failed, a human is told instead.
func (t *transition) hanging(i int, answer StepStatus) bool {
	s := &t.inst.Steps[i]
	s.Hanging++
	switch {
	case t.inst.Status == StatusCompensationFailed:
		t.emitAlert(i, "late_effect", fmt.Sprintf("step %s answered %s after compensation had failed; "+
			"it may hold a resource", s.Name, answer))
		if s.Status == StepStatusCompensated {
			s.Status = answer // a resumed compensation undoes it again
		}
	case s.Status == StepStatusCompensating:
		s.Redo = true
	case s.Status == StepStatusCompensated:
		s.Status = answer
		if t.inst.Status == StatusCompensated {
			t.inst.Status = StatusCompensating
			t.nextUndo()
		}
		// Otherwise another step's undo is in flight; nextUndo reaches
		// this one when it is done.
	}
	return true
}
