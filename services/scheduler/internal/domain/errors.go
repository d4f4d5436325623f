package domain

import "errors"

// Sentinel causes carried by FieldError; match them with errors.Is.
var (
	ErrRequired          = errors.New("is required")
	ErrInvalid           = errors.New("is invalid")
	ErrUnknownPool       = errors.New("unknown pool")
	ErrUnknownTeam       = errors.New("unknown team")
	ErrNegativeDemand    = errors.New("demand is negative")
	ErrEmptyDemand       = errors.New("demand is empty")
	ErrDemandExceedsPool = errors.New("demand is larger than the pool")
	ErrDependencyCycle   = errors.New("dependency cycle")
	ErrUnknownDependency = errors.New("unknown dependency")
	ErrDuplicateID       = errors.New("duplicate workload id")
	ErrUnknownWorkload   = errors.New("unknown workload")
	// ErrNoQuota: the team has no quota (nominal or borrowing) in the pool.
	ErrNoQuota = errors.New("the team has no quota in this pool")
	// ErrDemandExceedsQuota: more than nominal + borrowing limit.
	ErrDemandExceedsQuota = errors.New("demand is larger than the team's quota")
	// ErrBorrowNotPreemptible: borrowed capacity is always preemptible.
	ErrBorrowNotPreemptible = errors.New("demand beyond the team's nominal quota must be preemptible")
)

// FieldError says which input field is wrong and why. Ports map it to a
// 4xx response that names Field.
type FieldError struct {
	Field  string // e.g. "demand.cpu", "dependsOn[1]", "pool"
	Err    error  // one of the Err* sentinels
	Detail string // optional, e.g. the cycle "a -> b -> a"
}

func (e *FieldError) Error() string {
	if e.Detail == "" {
		return e.Field + ": " + e.Err.Error()
	}
	return e.Field + ": " + e.Err.Error() + " (" + e.Detail + ")"
}

func (e *FieldError) Unwrap() error { return e.Err }

func fieldErr(field string, err error, detail string) *FieldError {
	return &FieldError{Field: field, Err: err, Detail: detail}
}
