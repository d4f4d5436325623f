package domain

import (
	"fmt"
	"strings"
	"time"
)

// GoneServer is an operator's declaration that the server behind a driver
// is lost for good (the host burnt down, the managed instance was deleted
// outside Pave). Undo, sanitize and deprovision of resources on it then
// stop waiting for it: each is recorded as abandoned, with this
// declaration as the reason, and the sagas waiting on it finish.
type GoneServer struct {
	Driver string    `json:"driver"`
	By     string    `json:"by"`
	Reason string    `json:"reason"`
	At     time.Time `json:"at"`
}

// maxGoneReason bounds the reason an operator gives.
const maxGoneReason = 500

// NewGoneServer validates a declaration.
func NewGoneServer(driver, by, reason string, now time.Time) (GoneServer, error) {
	reason = strings.TrimSpace(reason)
	switch {
	case by == "":
		return GoneServer{}, Permanent(fmt.Errorf("%w: a declaration needs the operator who makes it", ErrRefused))
	case reason == "":
		return GoneServer{}, &FieldError{Field: "reason", Message: "required: say why the server is gone for good"}
	case len(reason) > maxGoneReason:
		return GoneServer{}, &FieldError{Field: "reason", Message: fmt.Sprintf("at most %d characters", maxGoneReason)}
	}
	return GoneServer{Driver: driver, By: by, Reason: reason, At: now.UTC()}, nil
}

// Note is what a resource abandoned because of the declaration says.
func (g GoneServer) Note() string {
	return fmt.Sprintf("abandoned: the %s server was declared gone by %s at %s (%s); nothing on it was sanitized or deleted",
		g.Driver, g.By, g.At.Format(time.RFC3339), g.Reason)
}

// FieldError is bad input in one named field; permanent.
type FieldError struct {
	Field   string
	Message string
}

func (e *FieldError) Error() string { return e.Field + ": " + e.Message }

// Unwrap makes the error permanent.
func (e *FieldError) Unwrap() error { return ErrPermanent }
