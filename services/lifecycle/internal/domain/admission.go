package domain

import (
	"fmt"
	"time"
)

// Admission is what the scheduler said about a create: the pool the
// environment queues in and, while it waits, why and where.
type Admission struct {
	Pool string `json:"pool"`
	// Waiting is the scheduler's latest reason for not admitting the
	// environment yet, Position its place in the team's queue for the
	// pool (1 is next; 0 when the scheduler did not say) and ReportedAt
	// when the scheduler determined them.
	Waiting    string    `json:"waiting,omitempty"`
	Position   int       `json:"position,omitempty"`
	ReportedAt time.Time `json:"reported_at,omitzero"`
	// AdmittedAt is when the admission was recorded.
	AdmittedAt time.Time `json:"admitted_at,omitzero"`
}

// reason says in words why a queued environment waits:
// "waiting for admission in pool platform: team quota exhausted for ops (position 3)".
func (a Admission) reason() string {
	s := "waiting for admission"
	if a.Pool != "" {
		s += " in pool " + a.Pool
	}
	if a.Waiting != "" {
		s += ": " + a.Waiting
	}
	if a.Position > 0 {
		s += fmt.Sprintf(" (position %d)", a.Position)
	}
	return s
}

// WaitForAdmission records why the scheduler has not admitted a queued
// environment yet, as of at; the environment's reason shows it. A report
// older than the one recorded is refused with ErrStale, so reports that
// arrive out of order never show an outdated reason.
func (e Environment) WaitForAdmission(reason string, position int, at, now time.Time) (Environment, error) {
	if e.State != StateQueued {
		return e, &TransitionError{Environment: e.ID, Action: "wait for admission", From: e.State}
	}
	var a Admission
	if e.Admission != nil {
		a = *e.Admission
	}
	if at.Before(a.ReportedAt) {
		return e, fmt.Errorf("environment %s: admission report of %s: %w", e.ID, at.Format(time.RFC3339Nano), ErrStale)
	}
	a.Waiting, a.Position, a.ReportedAt = reason, position, at
	next := e
	next.Admission = &a
	next.Reason = a.reason()
	next.UpdatedAt = now
	return next, nil
}
