package bus

import (
	"errors"
	"time"
)

// ErrPermanent marks an error that a retry cannot cure. The bus dead-letters
// the message instead of redelivering it.
var ErrPermanent = errors.New("permanent")

type permanentError struct{ err error }

func (p permanentError) Error() string        { return p.err.Error() }
func (p permanentError) Unwrap() []error      { return []error{p.err, ErrPermanent} }
func (p permanentError) Is(target error) bool { return target == ErrPermanent }

// Permanent wraps err so that the bus dead-letters the message at once.
func Permanent(err error) error {
	if err == nil {
		return nil
	}
	return permanentError{err: err}
}

// IsPermanent reports whether err, or anything it wraps, is permanent.
func IsPermanent(err error) bool { return errors.Is(err, ErrPermanent) }

// Backoff is the redelivery delay policy for transient errors: Base after
// the first failure, doubling, never above Max.
type Backoff struct {
	Base time.Duration
	Max  time.Duration
}

// Delay is the wait before delivery number n+1 after delivery n failed.
func (b Backoff) Delay(n uint64) time.Duration {
	d := b.Base
	for i := uint64(1); i < n && d < b.Max; i++ {
		d *= 2
	}
	return min(d, b.Max)
}
