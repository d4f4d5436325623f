package saga

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strconv"
	"time"

	"github.com/pave-platform/pave/pkg/events"
)

// Transition applies one input to an instance and returns the next
// instance and the effects it emitted, which are also appended to the
// next instance's outbox. It does no I/O and is deterministic, so the
// engine may compute it again after a lost compare-and-set.
//
// Start takes an instance that holds only its ID. An input that changes
// nothing — a duplicate, a stale or unknown answer, a Timeout for an old
// deadline — returns inst unchanged and no effects. Every other input is a
// transition: Seq grows by one and exactly one progress effect is emitted,
// after any commands and alerts.
//
// An error means the input cannot apply to this instance at all (wrong
// definition, another saga's answer, not started); inst is returned as is.
func Transition(def Definition, inst Instance, in Input, now time.Time) (Instance, []Effect, error) {
	if err := check(def, inst, in); err != nil {
		return inst, nil, err
	}
	t := &transition{def: def, inst: inst.clone(), now: now.UTC(), focus: -1}
	if !t.apply(in) {
		return inst, nil, nil
	}
	t.inst.Seq++
	t.inst.UpdatedAt = t.now
	t.emitProgress(in.kind())
	return t.inst, t.effects, nil
}

func check(def Definition, inst Instance, in Input) error {
	if err := def.Validate(); err != nil {
		return err
	}
	if in == nil {
		return fmt.Errorf("%w: nil input for saga %s", ErrInvalidInput, inst.ID)
	}
	if !ValidID(inst.ID) {
		return fmt.Errorf("%w: saga id %q must match [A-Za-z0-9_=.-]+ without leading or trailing dot", ErrInvalidInput, inst.ID)
	}
	if ref, ok := refOf(in); ok && ref.ID != inst.ID {
		return fmt.Errorf("%w: answer for saga %q delivered to saga %q", ErrInvalidInput, ref.ID, inst.ID)
	}
	if inst.Status == "" {
		if _, ok := in.(Start); !ok {
			return fmt.Errorf("%w: saga %s has not started", ErrInvalidInput, inst.ID)
		}
		return nil
	}
	if inst.Definition != def.Name || len(inst.Steps) != len(def.Steps) {
		return fmt.Errorf("%w: saga %s runs %q with %d steps, definition %q has %d",
			ErrDefinitionMismatch, inst.ID, inst.Definition, len(inst.Steps), def.Name, len(def.Steps))
	}
	for i, s := range inst.Steps {
		if s.Name != def.Steps[i].Name {
			return fmt.Errorf("%w: saga %s step %d is %q, definition has %q",
				ErrDefinitionMismatch, inst.ID, i, s.Name, def.Steps[i].Name)
		}
	}
	return nil
}

func refOf(in Input) (Ref, bool) {
	switch in := in.(type) {
	case StepSucceeded:
		return in.Ref, true
	case StepFailed:
		return in.Ref, true
	}
	return Ref{}, false
}

// transition is the working state of one call to Transition.
type transition struct {
	def     Definition
	inst    Instance
	now     time.Time
	effects []Effect
	focus   int // the step the input concerned; -1: the current step
}

// apply reports whether the input changed the instance.
func (t *transition) apply(in Input) bool {
	switch in := in.(type) {
	case Start:
		return t.start(in)
	case StepSucceeded:
		if in.Ref.Compensation {
			return t.undoSucceeded(in.Ref)
		}
		return t.succeeded(in.Ref, in.Output)
	case StepFailed:
		if in.Ref.Compensation {
			return t.undoFailed(in.Ref, in.Reason, in.Retryable)
		}
		return t.failed(in.Ref, in.Reason, in.Retryable)
	case Timeout:
		return t.timeout(in.Deadline)
	case Abort:
		return t.abort(in.Reason)
	case Resume:
		return t.resume()
	}
	return false
}

func (t *transition) start(in Start) bool {
	if t.inst.Status != "" {
		return false
	}
	t.inst = Instance{
		ID: t.inst.ID, Definition: t.def.Name, Status: StatusRunning, Trace: t.inst.Trace,
		Data: in.Data, Steps: make([]StepState, len(t.def.Steps)), CreatedAt: t.now,
	}
	for i, s := range t.def.Steps {
		t.inst.Steps[i] = StepState{Name: s.Name, Status: StepStatusPending}
	}
	t.advance(0)
	return true
}

// step finds the step a Ref names; unknown steps are ignored.
func (t *transition) step(ref Ref) (int, *StepState, bool) {
	for i := range t.inst.Steps {
		if t.inst.Steps[i].Name == ref.Step {
			t.focus = i
			return i, &t.inst.Steps[i], true
		}
	}
	return 0, nil, false
}

func (t *transition) setDeadline(d time.Duration) { t.inst.Deadline = t.now.Add(d) }

func (t *transition) finish(s Status) {
	t.inst.Status = s
	t.inst.Deadline = time.Time{}
}

// emitCommand checks that cmd carries ref and puts it in the outbox.
func (t *transition) emitCommand(ref Ref, cmd Command) error {
	if cmd.Type == "" {
		return fmt.Errorf("command for %s has no type", ref.EventID())
	}
	var carrier struct {
		Saga *Ref `json:"saga"`
	}
	if err := json.Unmarshal(cmd.Data, &carrier); err != nil {
		return fmt.Errorf("command %s data: %w", ref.EventID(), err)
	}
	if carrier.Saga == nil || *carrier.Saga != ref {
		return fmt.Errorf("command %s data must carry \"saga\": %+v", ref.EventID(), ref)
	}
	t.emit(Effect{Kind: EffectCommand, ID: ref.EventID(), Type: cmd.Type, Data: bytes.Clone(cmd.Data), Ref: &ref})
	return nil
}

func (t *transition) emit(e Effect) {
	t.effects = append(t.effects, e)
	t.inst.Outbox = append(t.inst.Outbox, e)
}

func (t *transition) emitAlert(step int, alert, reason string) {
	t.emit(Effect{
		Kind: EffectAlert, ID: t.inst.ID + "/alert/" + strconv.Itoa(t.inst.Seq+1), Type: events.TypeSagaAlerted,
		Data: mustJSON(events.SagaAlerted{
			SagaID: t.inst.ID, Definition: t.inst.Definition, Seq: t.inst.Seq + 1,
			Alert: alert, Step: t.inst.Steps[step].Name, Reason: reason, At: t.now,
		}),
	})
}

func (t *transition) emitProgress(input string) {
	p := events.SagaProgressed{
		SagaID: t.inst.ID, Definition: t.inst.Definition, Seq: t.inst.Seq, Input: input,
		Status: string(t.inst.Status), Reason: t.inst.Reason, Deadline: t.inst.Deadline,
		Steps: make([]events.SagaStep, len(t.inst.Steps)), At: t.now,
	}
	focus := t.focus
	if focus < 0 {
		focus = t.inst.Current
	}
	if focus >= 0 && focus < len(t.inst.Steps) {
		p.Step = t.inst.Steps[focus].Name
	}
	for i, s := range t.inst.Steps {
		p.Steps[i] = events.SagaStep{Name: s.Name, Status: string(s.Status),
			Attempts: s.Attempts, UndoAttempts: s.UndoAttempts, Error: s.Error}
	}
	t.emit(Effect{Kind: EffectProgress, ID: t.inst.ID + "/progress/" + strconv.Itoa(t.inst.Seq),
		Type: events.TypeSagaProgressed, Data: mustJSON(p)})
}

// mustJSON marshals the event types of this package, which cannot fail.
func mustJSON(v any) json.RawMessage {
	b, err := json.Marshal(v)
	if err != nil {
		panic(fmt.Sprintf("saga: marshal %T: %v", v, err))
	}
	return b
}
