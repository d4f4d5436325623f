package domain

import (
	"fmt"
	"time"
)

// The expiring warning comes a tenth of the TTL before expiry, but never
// less than 5 minutes nor more than an hour ahead: a 24 h preview turns
// expiring 1 h before it goes, a 2 h one 12 minutes before.
const (
	minWarningLead = 5 * time.Minute
	maxWarningLead = time.Hour
)

// WarningLead is how long before expiry an environment with this TTL
// turns expiring.
func WarningLead(ttl time.Duration) time.Duration {
	return min(max(ttl/10, minWarningLead), maxWarningLead)
}

// Expires reports whether the environment has a running lease: it is
// ephemeral and not kept.
func (e Environment) Expires() bool { return e.Ephemeral && !e.Keep }

// WarnAt is when the environment turns expiring; zero if it never expires.
func (e Environment) WarnAt() time.Time {
	if !e.Expires() {
		return time.Time{}
	}
	return e.ExpiresAt.Add(-WarningLead(e.TTL))
}

// WarningDue reports whether a sweep at now should call Expiring.
func (e Environment) WarningDue(now time.Time) bool {
	return e.Expires() && e.State == StateReady && !now.Before(e.WarnAt())
}

// ExpiryDue reports whether a sweep at now should call Expire.
func (e Environment) ExpiryDue(now time.Time) bool {
	return e.Expires() && !now.Before(e.ExpiresAt) &&
		(e.State == StateReady || e.State == StateExpiring || e.State == StateDegraded)
}

// Expiring warns that expiry is near: ready → expiring, once WarnAt is past.
func (e Environment) Expiring(now time.Time) (Environment, error) {
	next, err := e.step("warn of expiry", StateExpiring, now, StateReady)
	switch {
	case err != nil:
		return e, err
	case !e.Ephemeral:
		return e, fmt.Errorf("environment %s: warn of expiry: %w", e.ID, ErrNotEphemeral)
	case !e.WarningDue(now):
		return e, fmt.Errorf("environment %s: warn of expiry at %s: %w (keep %t, warning at %s)",
			e.ID, now.Format(time.RFC3339), ErrNotDue, e.Keep, e.WarnAt().Format(time.RFC3339))
	}
	return next, nil
}

// Expire starts the teardown of an environment whose lease has run out:
// ready, expiring or degraded → decommissioning, with reason "expired".
// An environment busy with an operation expires once it is done.
func (e Environment) Expire(opID string, now time.Time) (Environment, error) {
	next, err := e.step("expire", StateDecommissioning, now, StateReady, StateExpiring, StateDegraded)
	switch {
	case err != nil:
		return e, err
	case !e.Ephemeral:
		return e, fmt.Errorf("environment %s: expire: %w", e.ID, ErrNotEphemeral)
	case !e.ExpiryDue(now):
		return e, fmt.Errorf("environment %s: expire at %s: %w (keep %t, expires at %s)",
			e.ID, now.Format(time.RFC3339), ErrNotDue, e.Keep, e.ExpiresAt.Format(time.RFC3339))
	}
	next.Reason = "expired"
	next.Operation = &Operation{ID: opID, Kind: OpTeardown, StartedAt: now}
	return next, nil
}

// Extend sets the lease to run out d from now. d may not exceed the
// template's max_ttl, nor bring expiry earlier than it already is.
// An expiring environment is ready again.
func (e Environment) Extend(d time.Duration, now time.Time) (Environment, error) {
	if err := e.mustBeLeased("extend"); err != nil {
		return e, err
	}
	until := now.Add(d)
	switch {
	case d <= 0:
		return e, fmt.Errorf("environment %s: extend by %s: %w: must be positive", e.ID, d, ErrTTL)
	case d > e.MaxTTL:
		return e, fmt.Errorf("environment %s: extend by %s: %w: over the template's max_ttl %s", e.ID, d, ErrTTL, e.MaxTTL)
	case until.Before(e.ExpiresAt):
		return e, fmt.Errorf("environment %s: extend by %s: %w: would bring expiry forward from %s",
			e.ID, d, ErrTTL, e.ExpiresAt.Format(time.RFC3339))
	}
	next := e.renewed(now)
	next.TTL, next.ExpiresAt = d, until
	return next, nil
}

// SetKeep suspends (true) or resumes (false) expiry. Resuming starts a
// fresh lease of TTL from now, so that clearing keep on an old
// environment does not tear it down on the spot.
func (e Environment) SetKeep(keep bool, now time.Time) (Environment, error) {
	if err := e.mustBeLeased("set keep"); err != nil {
		return e, err
	}
	if e.Keep == keep {
		return e, nil
	}
	next := e.renewed(now)
	next.Keep = keep
	if !keep {
		next.ExpiresAt = now.Add(e.TTL)
	}
	return next, nil
}

// RecordActivity renews the lease of a template with renew_on_activity:
// expiry moves to now + TTL if that is later. Otherwise it changes nothing.
func (e Environment) RecordActivity(now time.Time) Environment {
	if !e.RenewOnActivity || !e.Expires() || !e.State.leased() {
		return e
	}
	until := now.Add(e.TTL)
	if !until.After(e.ExpiresAt) {
		return e
	}
	next := e.renewed(now)
	next.ExpiresAt = until
	return next
}

// renewed takes an expiring environment back to ready.
func (e Environment) renewed(now time.Time) Environment {
	next := e
	next.UpdatedAt = now
	if e.State == StateExpiring {
		next.State = StateReady
	}
	return next
}

// AtRest reports whether nothing will happen to the environment on its
// own: no operation in flight, no failed compensation to resume, no
// expiry to run, no transition event to publish, and not deleted (a
// deleted one is purged once its retention is over). Reconcile skips it.
func (e Environment) AtRest() bool {
	switch e.State {
	case StateRequested, StateQueued, StateProvisioning, StateUpdating, StateDecommissioning,
		StateCompensationFailed, StateDeleted:
		return false
	}
	return len(e.Outbox) == 0 && !e.Expires()
}
