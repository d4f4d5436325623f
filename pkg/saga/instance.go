package saga

import (
	"encoding/json"
	"slices"
	"time"
)

// Status is where a saga instance is in its life.
type Status string

// Saga statuses. The last three are terminal, except that a compensated
// saga reopens when a step answers after its compensation (hanging).
const (
	StatusRunning            Status = "running"
	StatusCompensating       Status = "compensating"
	StatusCompleted          Status = "completed"
	StatusCompensated        Status = "compensated"
	StatusCompensationFailed Status = "compensation_failed"
)

// Terminal reports whether nothing more will happen on its own.
func (s Status) Terminal() bool {
	return s == StatusCompleted || s == StatusCompensated || s == StatusCompensationFailed
}

// StepStatus is where one step is.
type StepStatus string

// Step statuses.
const (
	StepStatusPending      StepStatus = "pending"      // not reached yet
	StepStatusRunning      StepStatus = "running"      // forward command in flight, or its retry due
	StepStatusSucceeded    StepStatus = "succeeded"    // forward command answered with success
	StepStatusFailed       StepStatus = "failed"       // forward command, or its compensation, gave up
	StepStatusCompensating StepStatus = "compensating" // undo command in flight, or its retry due
	StepStatusCompensated  StepStatus = "compensated"  // undo answered with success, or nothing to undo
	StepStatusSkipped      StepStatus = "skipped"      // never issued a command, so nothing to undo
)

// Instance is one run of a definition: everything the engine stores.
type Instance struct {
	ID         string          `json:"id"`
	Definition string          `json:"definition"`
	Status     Status          `json:"status"`
	Data       json.RawMessage `json:"data,omitempty"`
	Steps      []StepState     `json:"steps"`
	// Current is the index of the step being run or compensated.
	Current int `json:"current"`
	// Deadline is when the engine delivers Timeout: the attempt in flight
	// times out, or the retry of the current step is due. Zero: none.
	Deadline time.Time `json:"deadline,omitzero"`
	// Reason says why the saga compensates or stopped.
	Reason string `json:"reason,omitempty"`
	// Cause is why the compensation started (the failure, timeout or
	// abort); Reason adds to it what is left when an undo gives up.
	Cause string `json:"cause,omitempty"`
	// Resumes counts the rounds of compensation resumed after it failed.
	Resumes int `json:"resumes,omitempty"`
	// Seq counts transitions; it numbers progress events.
	Seq int `json:"seq"`
	// Outbox holds effects not yet published, oldest first.
	Outbox []Effect `json:"outbox,omitempty"`
	// Trace is the W3C trace context (traceparent, tracestate) of the call
	// that started the saga; what it publishes continues that trace.
	Trace     map[string]string `json:"trace,omitempty"`
	CreatedAt time.Time         `json:"created_at,omitzero"`
	UpdatedAt time.Time         `json:"updated_at,omitzero"`
}

// StepState is the state of one step of an instance.
type StepState struct {
	Name   string     `json:"name"`
	Status StepStatus `json:"status"`
	// Attempts counts forward commands issued; UndoAttempts undo commands,
	// over every round. UndoTries counts those of the current round: a
	// hanging step is compensated again in a new round.
	Attempts     int `json:"attempts,omitempty"`
	UndoAttempts int `json:"undo_attempts,omitempty"`
	UndoTries    int `json:"undo_tries,omitempty"`
	// Waiting: no attempt in flight; the next one is due at the deadline.
	Waiting bool `json:"waiting,omitempty"`
	// Redo: a forward answer arrived while the undo was in flight, so the
	// step is undone once more after it.
	Redo bool `json:"redo,omitempty"`
	// Hanging counts forward answers that arrived after the undo was issued.
	Hanging int `json:"hanging,omitempty"`
	// UndoFailed: the step's undo gave up (status failed); the other
	// steps are undone anyway, and Resume tries this one again.
	UndoFailed bool            `json:"undo_failed,omitempty"`
	Output     json.RawMessage `json:"output,omitempty"`
	Error      string          `json:"error,omitempty"`
}

// Step returns the state of the named step.
func (i Instance) Step(name string) (StepState, bool) {
	for _, s := range i.Steps {
		if s.Name == name {
			return s, true
		}
	}
	return StepState{}, false
}

// Output is the output of the named step, nil if it has none.
func (i Instance) Output(step string) json.RawMessage {
	s, _ := i.Step(step)
	return s.Output
}

func (i Instance) clone() Instance {
	i.Steps = slices.Clone(i.Steps)
	i.Outbox = slices.Clone(i.Outbox)
	return i
}

// EffectKind says what an effect publishes.
type EffectKind string

// Effect kinds.
const (
	EffectCommand  EffectKind = "command"
	EffectProgress EffectKind = "progress"
	EffectAlert    EffectKind = "alert"
)

// Effect is a CloudEvent a transition asks the engine to publish. It is
// kept in the instance's outbox until the publish is acknowledged.
type Effect struct {
	Kind EffectKind      `json:"kind"`
	ID   string          `json:"id"`
	Type string          `json:"type"`
	Data json.RawMessage `json:"data"`
	// Ref is set on commands.
	Ref *Ref `json:"ref,omitempty"`
}

// Input is what drives a transition: Start, StepSucceeded, StepFailed,
// Timeout, Abort or Resume.
type Input interface{ kind() string }

// Start begins an instance with Data as its input. Starting an instance
// that exists is ignored.
type Start struct{ Data json.RawMessage }

// StepSucceeded is a success answer to the command Ref names.
type StepSucceeded struct {
	Ref    Ref
	Output json.RawMessage
}

// StepFailed is a failure answer to the command Ref names. Retryable
// failures are tried again while the retry policy allows.
type StepFailed struct {
	Ref       Ref
	Reason    string
	Retryable bool
}

// Timeout is delivered by the engine's timer when Deadline, the
// instance's deadline it was set for, has passed. A Timeout for any other
// deadline is stale and ignored, so a timer firing twice is harmless.
type Timeout struct{ Deadline time.Time }

// Abort cancels a running saga: what it did is compensated.
type Abort struct{ Reason string }

// Resume tries again, in a new round, the undo of every step of a
// compensation_failed saga that may still hold something: the saga
// compensates once more and ends compensated when every undo succeeds.
// It is ignored in any other status.
type Resume struct{}

func (Start) kind() string         { return "start" }
func (StepSucceeded) kind() string { return "step_succeeded" }
func (StepFailed) kind() string    { return "step_failed" }
func (Timeout) kind() string       { return "timeout" }
func (Abort) kind() string         { return "abort" }
func (Resume) kind() string        { return "resume" }
