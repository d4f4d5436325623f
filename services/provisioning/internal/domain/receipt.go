package domain

import "time"

// Receipt is what the teardown of an environment did to each resource:
// how it was sanitized and deleted, the evidence (what the resource held
// before and after each step) and the credentials revoked with it.
type Receipt struct {
	EnvironmentID string        `json:"environment_id"`
	Steps         []ReceiptStep `json:"steps"`
	UpdatedAt     time.Time     `json:"updated_at"`
}

// ReceiptStep is one teardown step of one resource.
type ReceiptStep struct {
	ResourceID string `json:"resource_id"`
	Driver     string `json:"driver"`
	// Action is "sanitize" or "deprovision"; Method says what it ran.
	Action string `json:"action"`
	Method string `json:"method"`
	// Before and After are the driver's counts (for example the objects
	// a database role owns, the keys of a cache); absent when the driver
	// cannot count, and Evidence says so.
	Before   map[string]int64 `json:"before,omitempty"`
	After    map[string]int64 `json:"after,omitempty"`
	Evidence string           `json:"evidence,omitempty"`
	// Existed is deprovision's answer: there was something to delete.
	Existed *bool `json:"existed,omitempty"`
	// CredentialsRevoked names the logins that ended with the step.
	CredentialsRevoked []string  `json:"credentials_revoked,omitempty"`
	At                 time.Time `json:"at"`
}

// MaxReceiptSteps bounds a receipt: two steps for each resource of the
// largest environment a template may describe, with room to spare.
const MaxReceiptSteps = 512

// Add records step unless the receipt has one for the same resource and
// action already: the first run's evidence stands, a retry's (which finds
// the work done) does not replace it. It reports whether step was added.
func (r *Receipt) Add(step ReceiptStep) bool {
	for _, s := range r.Steps {
		if s.ResourceID == step.ResourceID && s.Action == step.Action {
			return false
		}
	}
	if len(r.Steps) >= MaxReceiptSteps {
		return false
	}
	r.Steps = append(r.Steps, step)
	if step.At.After(r.UpdatedAt) {
		r.UpdatedAt = step.At
	}
	return true
}
