package saga

import (
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"time"
)

// Definition is a saga written in code: steps that run in order, each with
// the command that does it and the command that undoes it.
//
// Changing the steps of a definition while instances of it run makes
// those instances fail with ErrDefinitionMismatch: give the new version a
// new name (environment-create.v2) and keep the old one registered until
// its instances end.
type Definition struct {
	Name  string
	Steps []Step
}

// Step is one command of a saga with its compensation.
//
// Do and Undo must be pure: they build a command from the instance (its
// Data and the Output of earlier steps) and the Ref, nothing else, because
// the transition that calls them may be computed more than once. The
// command's data must carry the Ref as its "saga" property, and the
// receiver answers with the same Ref.
//
// Receivers make the attempts of one step idempotent (key the work by saga
// id and step, never by attempt) and answer an Undo for something they
// never did with success.
type Step struct {
	Name string
	Do   func(Instance, Ref) (Command, error)
	// Undo compensates the step. A nil Undo, or a nil command from it,
	// means the step leaves nothing to compensate.
	Undo func(Instance, Ref) (*Command, error)
	// Timeout bounds each attempt, forward and undo. Required: a step
	// that may wait forever is a saga that may never end.
	Timeout time.Duration
	// Retry governs the forward command after retryable failures and
	// timeouts; CompensationRetry governs the undo command.
	Retry             RetryPolicy
	CompensationRetry RetryPolicy
}

// RetryPolicy says how often a command is tried and how long to wait
// between tries: Backoff after the first failure, doubling, never above
// MaxBackoff (when set).
type RetryPolicy struct {
	MaxAttempts int // tries in all; 0 means 1
	Backoff     time.Duration
	MaxBackoff  time.Duration
}

func (p RetryPolicy) attempts() int { return max(p.MaxAttempts, 1) }

// delay is the wait before try n+1 after try n failed.
func (p RetryPolicy) delay(n int) time.Duration {
	d := p.Backoff
	for i := 1; i < n && d > 0 && (p.MaxBackoff <= 0 || d < p.MaxBackoff) && d < 24*time.Hour; i++ {
		d *= 2
	}
	if p.MaxBackoff > 0 {
		d = min(d, p.MaxBackoff)
	}
	return d
}

// Command is a CloudEvent the engine publishes for a step. The engine sets
// its id; Type is a command type such as dev.pave.cmd.provisioning.provision.v1.
type Command struct {
	Type string
	Data json.RawMessage
}

// Ref names one attempt of a step's command, or of its compensation. It
// travels as the "saga" property of the command data and comes back in
// the answer.
type Ref struct {
	ID           string `json:"id"`
	Step         string `json:"step"`
	Attempt      int    `json:"attempt"`
	Compensation bool   `json:"compensation"`
}

// EventID is the CloudEvent id of the command Ref names:
// <saga-id>/<step>/<attempt>, or <saga-id>/<step>/undo/<attempt>.
func (r Ref) EventID() string {
	if r.Compensation {
		return r.ID + "/" + r.Step + "/undo/" + strconv.Itoa(r.Attempt)
	}
	return r.ID + "/" + r.Step + "/" + strconv.Itoa(r.Attempt)
}

// Validate reports what makes d unusable, or nil.
func (d Definition) Validate() error {
	if d.Name == "" {
		return fmt.Errorf("%w: definition without a name", ErrInvalidDefinition)
	}
	seen := map[string]bool{}
	for i, s := range d.Steps {
		var problem string
		switch {
		case !validName(s.Name):
			problem = fmt.Sprintf("step %d: name %q must match [A-Za-z0-9_.-]+", i, s.Name)
		case seen[s.Name]:
			problem = fmt.Sprintf("step %q appears twice", s.Name)
		case s.Do == nil:
			problem = fmt.Sprintf("step %q has no Do", s.Name)
		case s.Timeout <= 0:
			problem = fmt.Sprintf("step %q has no Timeout", s.Name)
		}
		if problem != "" {
			return fmt.Errorf("%w: %s: %s", ErrInvalidDefinition, d.Name, problem)
		}
		seen[s.Name] = true
	}
	return nil
}

// validName accepts step names, which become part of event ids.
func validName(s string) bool {
	if s == "" {
		return false
	}
	for _, c := range []byte(s) {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_' || c == '-' || c == '.') {
			return false
		}
	}
	return true
}

// ValidID reports whether id can name a saga: it is a KV key and a prefix
// of event ids, so [A-Za-z0-9_=-] with inner dots and no slash.
func ValidID(id string) bool {
	if id == "" || id[0] == '.' || id[len(id)-1] == '.' {
		return false
	}
	for _, c := range []byte(id) {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_' || c == '-' || c == '=' || c == '.') {
			return false
		}
	}
	return true
}

// Errors of this package, matched with errors.Is.
var (
	ErrInvalidDefinition  = errors.New("invalid saga definition")
	ErrDefinitionMismatch = errors.New("instance does not match its definition")
	ErrInvalidInput       = errors.New("invalid saga input")
	ErrUnknownDefinition  = errors.New("unknown saga definition")
	ErrNotFound           = errors.New("saga not found")
	ErrIDInUse            = errors.New("saga id is in use by another definition")
)
