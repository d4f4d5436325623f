package events

import "time"

// CloudEvent types of the lifecycle service.
const (
	TypeSagaProgressed = "dev.pave.lifecycle.saga.progressed.v1"
	TypeSagaAlerted    = "dev.pave.lifecycle.saga.alerted.v1"
)

// lifecycleTypes are the commands and events of the lifecycle service.
func lifecycleTypes() map[string]any {
	return map[string]any{
		TypeSagaProgressed: SagaProgressed{},
		TypeSagaAlerted:    SagaAlerted{},
	}
}

// SagaProgressed is the data of TypeSagaProgressed: a saga instance made
// one transition. Seq is consecutive per instance, so a gap is visible.
type SagaProgressed struct {
	SagaID     string `json:"saga_id"`
	Definition string `json:"definition"`
	Seq        int    `json:"seq"`
	// Input is start, step_succeeded, step_failed, timeout, abort or resume.
	Input string `json:"input"`
	// Status is running, compensating, completed, compensated or
	// compensation_failed.
	Status string `json:"status"`
	// Step is the step the transition concerned; empty for a saga without steps.
	Step   string `json:"step,omitempty"`
	Reason string `json:"reason,omitempty"`
	// Deadline is when the step in flight times out or its retry is due.
	Deadline time.Time  `json:"deadline,omitzero"`
	Steps    []SagaStep `json:"steps"`
	At       time.Time  `json:"at"`
}

// SagaStep is the state of one step in SagaProgressed.
type SagaStep struct {
	Name string `json:"name"`
	// Status is pending, running, succeeded, failed, compensating,
	// compensated or skipped.
	Status       string `json:"status"`
	Attempts     int    `json:"attempts"`
	UndoAttempts int    `json:"undo_attempts"`
	Error        string `json:"error,omitempty"`
}

// SagaAlerted is the data of TypeSagaAlerted: a saga needs a human.
type SagaAlerted struct {
	SagaID     string `json:"saga_id"`
	Definition string `json:"definition"`
	Seq        int    `json:"seq"`
	// Alert is compensation_failed or late_effect.
	Alert  string    `json:"alert"`
	Step   string    `json:"step"`
	Reason string    `json:"reason"`
	At     time.Time `json:"at"`
}
