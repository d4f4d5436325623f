package domain

import (
	"cmp"
	"errors"
	"fmt"
	"slices"
	"strings"
)

// Sentinels, matched with errors.Is.
var (
	// ErrInvalidTemplate is wrapped by every *TemplateError.
	ErrInvalidTemplate = errors.New("invalid template")
	// ErrInvalid is wrapped by every *ValidationError.
	ErrInvalid = errors.New("invalid request")
	// ErrUnknownTemplate means the catalog has no template of that name.
	ErrUnknownTemplate = errors.New("unknown template")
	// ErrUnknownVersion means the template has no such version.
	ErrUnknownVersion = errors.New("unknown template version")
	// ErrVersionConflict means a name and version was seen with other content:
	// published versions are immutable.
	ErrVersionConflict = errors.New("template version already exists with different content")
	// ErrIllegalTransition is wrapped by every *TransitionError.
	ErrIllegalTransition = errors.New("illegal transition")
	// ErrNotEphemeral means a lease operation on a persistent environment.
	ErrNotEphemeral = errors.New("environment is not ephemeral")
	// ErrTTL means a lease duration outside what the template allows.
	ErrTTL = errors.New("invalid ttl")
	// ErrNotDue means an expiry step was asked for before its time.
	ErrNotDue = errors.New("not due")
	// ErrUnknownResource means the environment has no resource of that name.
	ErrUnknownResource = errors.New("unknown resource")
	// ErrStale means a report older than the one the environment holds.
	ErrStale = errors.New("stale report")
)

// FieldError is one problem with one field. Field is a path such as
// `resources[1].depends_on` or `parameters.size`; "" is the whole input.
type FieldError struct {
	Field   string `json:"field"`
	Message string `json:"message"`
}

func (f FieldError) String() string {
	if f.Field == "" {
		return f.Message
	}
	return f.Field + ": " + f.Message
}

// ValidationError lists every problem of a request at once.
type ValidationError struct {
	Fields []FieldError `json:"fields"`
}

func (e *ValidationError) Error() string {
	parts := make([]string, len(e.Fields))
	for i, f := range e.Fields {
		parts[i] = f.String()
	}
	return strings.Join(parts, "; ")
}

// Unwrap lets errors.Is match ErrInvalid.
func (e *ValidationError) Unwrap() error { return ErrInvalid }

// TemplateError lists every problem of one template file.
type TemplateError struct {
	File   string
	Fields []FieldError
}

// Error prints one line per problem, each naming the file and the field:
// `deploy/templates/preview.yaml: resources[1].depends_on: unknown resource "cache"`.
func (e *TemplateError) Error() string {
	lines := make([]string, len(e.Fields))
	for i, f := range e.Fields {
		lines[i] = e.File + ": " + f.String()
	}
	return strings.Join(lines, "\n")
}

// Unwrap lets errors.Is match ErrInvalidTemplate.
func (e *TemplateError) Unwrap() error { return ErrInvalidTemplate }

// TransitionError refuses an action the environment's state does not
// allow: a move the transition table forbids, or (To == "") an action
// that changes no state but is not allowed in From.
type TransitionError struct {
	Environment string
	Action      string
	From, To    State
}

func (e *TransitionError) Error() string {
	if e.To == "" {
		return fmt.Sprintf("environment %s: %s: %v: not allowed in state %s", e.Environment, e.Action, ErrIllegalTransition, e.From)
	}
	return fmt.Sprintf("environment %s: %s: %v from %s to %s", e.Environment, e.Action, ErrIllegalTransition, e.From, e.To)
}

// Unwrap lets errors.Is match ErrIllegalTransition.
func (e *TransitionError) Unwrap() error { return ErrIllegalTransition }

// problems collects field errors in the order they are found.
type problems []FieldError

func (p *problems) add(field, format string, args ...any) {
	*p = append(*p, FieldError{Field: field, Message: fmt.Sprintf(format, args...)})
}

// sorted orders problems by field, so that messages are stable.
func (p problems) sorted() []FieldError {
	out := slices.Clone(p)
	slices.SortStableFunc(out, func(a, b FieldError) int {
		return cmp.Compare(a.Field, b.Field)
	})
	return slices.Compact(out)
}

// join appends a field name to a path: join("resources[1]", "name").
func join(path, name string) string {
	if path == "" {
		return name
	}
	return path + "." + name
}

// index appends an array index to a path: index("resources", 1).
func index(path string, i int) string {
	return fmt.Sprintf("%s[%d]", path, i)
}
