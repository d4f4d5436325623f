package domain

import (
	"fmt"
	"slices"
	"time"
)

// Queue records that cost, budget and access said yes and that the
// environment now waits for the scheduler's admission in pool:
// requested → queued.
func (e Environment) Queue(pool string, now time.Time) (Environment, error) {
	if pool == "" {
		return e, fmt.Errorf("environment %s: queue: %w: no admission pool", e.ID, ErrInvalid)
	}
	next, err := e.step("queue", StateQueued, now)
	if err != nil {
		return e, err
	}
	next.Admission = &Admission{Pool: pool}
	next.Reason = next.Admission.reason()
	return next, nil
}

// MarkProvisioning records the scheduler's admission: queued →
// provisioning. The waiting reason goes; the pool stays.
func (e Environment) MarkProvisioning(now time.Time) (Environment, error) {
	next, err := e.step("provision", StateProvisioning, now)
	if err != nil {
		return e, err
	}
	a := Admission{AdmittedAt: now}
	if e.Admission != nil {
		a.Pool = e.Admission.Pool
	}
	next.Admission, next.Reason = &a, ""
	return next, nil
}

// MarkReady ends a create or update, or a recovery from degraded, with
// every resource usable. It clears the operation and the reason.
func (e Environment) MarkReady(now time.Time) (Environment, error) {
	next, err := e.step("mark ready", StateReady, now, StateProvisioning, StateUpdating, StateDegraded)
	if err != nil {
		return e, err
	}
	next.Reason, next.Operation = "", nil
	return next, nil
}

// MarkDegraded records that a resource is unhealthy, or that an update
// failed and left the environment usable in part.
func (e Environment) MarkDegraded(reason string, now time.Time) (Environment, error) {
	next, err := e.step("mark degraded", StateDegraded, now, StateReady, StateUpdating, StateExpiring)
	if err != nil {
		return e, err
	}
	next.Reason = reason
	if e.State == StateUpdating {
		next.Operation = nil
	}
	return next, nil
}

// MarkFailed ends a create that was refused or failed and whose steps
// have all been undone.
func (e Environment) MarkFailed(reason string, now time.Time) (Environment, error) {
	next, err := e.step("mark failed", StateFailed, now, StateRequested, StateQueued, StateProvisioning)
	if err != nil {
		return e, err
	}
	next.Reason, next.Operation = reason, nil
	return next, nil
}

// Heal ends a compensation that had failed and has now finished: a
// create's undo leaves the environment failed (fully compensated), an
// update's leaves it degraded on its previous revision.
func (e Environment) Heal(reason string, now time.Time) (Environment, error) {
	var to State
	switch {
	case e.Operation != nil && e.Operation.Kind == OpCreate:
		to = StateFailed
	case e.Operation != nil && e.Operation.Kind == OpUpdate:
		to = StateDegraded
	default: // a teardown heals by being run again (BeginTeardown)
		return e, &TransitionError{Environment: e.ID, Action: "heal", From: e.State}
	}
	next, err := e.step("heal", to, now, StateCompensationFailed)
	if err != nil {
		return e, err
	}
	next = next.restorePrevious()
	next.Reason, next.Operation = reason, nil
	return next, nil
}

// MarkCompensationFailed records that an undo (or teardown) step kept
// failing. The operation stays, so an operator can see which one.
func (e Environment) MarkCompensationFailed(reason string, now time.Time) (Environment, error) {
	next, err := e.step("mark compensation failed", StateCompensationFailed, now)
	if err != nil {
		return e, err
	}
	next.Reason = reason
	return next, nil
}

// BeginUpdate starts revision Revision+1 with params resolved against t,
// which must be the environment's own template version (an upgrade to
// another version is a different operation). Bad parameters give a
// *ValidationError naming each field.
func (e Environment) BeginUpdate(t Template, params map[string]any, opID, by string, now time.Time) (Environment, error) {
	next, err := e.step("update", StateUpdating, now, StateReady, StateDegraded)
	if err != nil {
		return e, err
	}
	if t.Name != e.Template || t.Version != e.Version {
		return e, &ValidationError{Fields: []FieldError{{Field: "template",
			Message: "environment runs " + e.Template + "@" + e.Version + ", not " + t.Ref()}}}
	}
	values, _, err := t.Resolve(params)
	if err != nil {
		return e, err
	}
	next.Revision = e.NextRevision()
	next.Parameters = values
	next.Revisions = append(slices.Clip(e.Revisions), Revision{Number: next.Revision, Parameters: values.Clone(), CreatedAt: now, By: by})
	next.Reason = ""
	next.Operation = &Operation{ID: opID, Kind: OpUpdate, StartedAt: now, FromRevision: e.Revision}
	return next, nil
}

// MarkRolledBack ends an update whose steps were all undone: the
// environment runs its previous revision again, so it shows that
// revision's number and parameters, and the update's revision is marked
// rolled back. It is degraded: the change asked for did not happen.
func (e Environment) MarkRolledBack(reason string, now time.Time) (Environment, error) {
	next, err := e.step("mark rolled back", StateDegraded, now, StateUpdating)
	if err != nil {
		return e, err
	}
	next = next.restorePrevious()
	next.Reason, next.Operation = reason, nil
	return next, nil
}

// restorePrevious puts back the revision an update started from.
func (e Environment) restorePrevious() Environment {
	if e.Operation == nil || e.Operation.Kind != OpUpdate {
		return e
	}
	from := e.Operation.FromRevision
	if from == 0 { // stored before FromRevision existed
		from = e.Revision - 1
	}
	params, ok := e.RevisionParameters(from)
	if !ok || from == e.Revision {
		return e
	}
	if i := e.revisionIndex(e.Revision); i >= 0 {
		e.Revisions = slices.Clone(e.Revisions)
		e.Revisions[i].RolledBack = true
	}
	e.Revision, e.Parameters = from, params.Clone()
	return e
}

// BeginTeardown starts decommissioning: from a request not yet admitted
// (a cancel), a running environment, after a compensation failure (an
// operator's retry), or a failed create that still holds something.
func (e Environment) BeginTeardown(opID, reason string, now time.Time) (Environment, error) {
	next, err := e.step("tear down", StateDecommissioning, now)
	if err != nil {
		return e, err
	}
	next.Reason = reason
	next.Operation = &Operation{ID: opID, Kind: OpTeardown, StartedAt: now}
	return next, nil
}

// MarkDeleted ends a teardown, or deletes at once a failed environment
// that holds nothing (there is nothing to tear down).
func (e Environment) MarkDeleted(now time.Time) (Environment, error) {
	if e.State == StateFailed && e.HoldsResources() {
		return e, &TransitionError{Environment: e.ID, Action: "mark deleted", From: e.State, To: StateDeleted}
	}
	next, err := e.step("mark deleted", StateDeleted, now)
	if err != nil {
		return e, err
	}
	next.Operation = nil
	return next, nil
}

// step is move plus the update time.
func (e Environment) step(action string, to State, now time.Time, from ...State) (Environment, error) {
	next, err := e.move(action, to, from...)
	if err != nil {
		return e, err
	}
	next.UpdatedAt = now
	return next, nil
}
