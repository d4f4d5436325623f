package domain

import (
	"errors"
	"fmt"
)

// ErrPermanent marks an error that a retry of the same command cannot
// cure: bad parameters, a refused command, a target that is not
// configured. Any other error is taken as transient.
var ErrPermanent = errors.New("permanent")

type permanentError struct{ err error }

func (p permanentError) Error() string   { return p.err.Error() }
func (p permanentError) Unwrap() []error { return []error{p.err, ErrPermanent} }

// Permanent marks err as one a retry cannot cure.
func Permanent(err error) error {
	if err == nil {
		return nil
	}
	return permanentError{err: err}
}

// IsPermanent reports whether err, or anything it wraps, is permanent.
func IsPermanent(err error) bool { return errors.Is(err, ErrPermanent) }

// ErrNotConfigured is wrapped by NotConfiguredError.
var ErrNotConfigured = errors.New("driver is not configured")

// NotConfiguredError says which setting would enable a driver.
type NotConfiguredError struct {
	Driver  string
	Setting string
}

func (e *NotConfiguredError) Error() string {
	if e.Setting == "" {
		return fmt.Sprintf("driver %s is not configured", e.Driver)
	}
	return fmt.Sprintf("driver %s is not configured (set %s)", e.Driver, e.Setting)
}

// Unwrap makes the error permanent and matchable with ErrNotConfigured.
func (e *NotConfiguredError) Unwrap() []error { return []error{ErrNotConfigured, ErrPermanent} }

// ErrRefused is wrapped when the ledger's state forbids a command: a
// provision after its deprovision, an update of a missing resource.
var ErrRefused = errors.New("refused")

// Refused builds a permanent ErrRefused with a reason.
func Refused(format string, args ...any) error {
	return Permanent(fmt.Errorf("%w: %s", ErrRefused, fmt.Sprintf(format, args...)))
}
