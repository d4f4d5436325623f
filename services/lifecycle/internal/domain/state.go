package domain

import (
	"fmt"
	"slices"
)

// State is where an environment is in its life. Every change of state is
// an event.
type State string

// Environment states.
const (
	StateRequested          State = "requested"           // accepted; cost, budget and access being checked
	StateQueued             State = "queued"              // waiting for the scheduler's admission
	StateProvisioning       State = "provisioning"        // resources being created in dependency order
	StateReady              State = "ready"               // usable
	StateUpdating           State = "updating"            // a new revision being applied
	StateDegraded           State = "degraded"            // usable in part: a resource or an update failed
	StateExpiring           State = "expiring"            // ephemeral, close to expiry; extend or keep to stay
	StateDecommissioning    State = "decommissioning"     // teardown running
	StateDeleted            State = "deleted"             // torn down; terminal
	StateFailed             State = "failed"              // creation failed and was compensated; only a delete follows
	StateCompensationFailed State = "compensation_failed" // an undo step kept failing: reconcile retries it, an operator may delete
)

// States lists every state.
func States() []State {
	return []State{StateRequested, StateQueued, StateProvisioning, StateReady, StateUpdating, StateDegraded,
		StateExpiring, StateDecommissioning, StateDeleted, StateFailed, StateCompensationFailed}
}

// NextStates is the transition table: the states s may move to.
//
//	requested        → queued, failed, decommissioning (cancelled)
//	queued           → provisioning, failed, decommissioning (cancelled)
//	provisioning     → ready, failed (compensated), compensation_failed
//	ready            → updating, degraded, expiring, decommissioning
//	updating         → ready, degraded, compensation_failed
//	degraded         → ready, updating, decommissioning
//	expiring         → ready (extended, kept, active), degraded, decommissioning
//	decommissioning  → deleted, compensation_failed
//	compensation_failed → decommissioning (a delete, or a teardown retried),
//	                   failed (a create's undo healed), degraded (an update's)
//	failed           → decommissioning (a delete of what is left),
//	                   deleted (a delete when nothing is held)
//	deleted          → nothing
func NextStates(s State) []State {
	switch s {
	case StateRequested:
		return []State{StateQueued, StateFailed, StateDecommissioning}
	case StateQueued:
		return []State{StateProvisioning, StateFailed, StateDecommissioning}
	case StateProvisioning:
		return []State{StateReady, StateFailed, StateCompensationFailed}
	case StateReady:
		return []State{StateUpdating, StateDegraded, StateExpiring, StateDecommissioning}
	case StateUpdating:
		return []State{StateReady, StateDegraded, StateCompensationFailed}
	case StateDegraded:
		return []State{StateReady, StateUpdating, StateDecommissioning}
	case StateExpiring:
		return []State{StateReady, StateDegraded, StateDecommissioning}
	case StateDecommissioning:
		return []State{StateDeleted, StateCompensationFailed}
	case StateCompensationFailed:
		return []State{StateDecommissioning, StateFailed, StateDegraded}
	case StateFailed:
		return []State{StateDecommissioning, StateDeleted}
	}
	return nil
}

// CanTransition reports whether the table allows from → to.
func CanTransition(from, to State) bool {
	return slices.Contains(NextStates(from), to)
}

// Terminal reports whether nothing more happens to an environment in s on
// its own: deleted, or failed (only a delete follows).
func (s State) Terminal() bool { return s == StateDeleted || s == StateFailed }

// leased reports whether an ephemeral environment's lease runs in s: from
// the request until teardown starts.
func (s State) leased() bool {
	return !s.Terminal() && s != StateDecommissioning && s != StateCompensationFailed
}

// move changes state if the table allows it and, when from is given, the
// action may start in the current state.
func (e Environment) move(action string, to State, from ...State) (Environment, error) {
	if !CanTransition(e.State, to) || (len(from) > 0 && !slices.Contains(from, e.State)) {
		return e, &TransitionError{Environment: e.ID, Action: action, From: e.State, To: to}
	}
	e.State = to
	return e, nil
}

func (e Environment) mustBeLeased(action string) error {
	if !e.Ephemeral {
		return fmt.Errorf("environment %s: %s: %w", e.ID, action, ErrNotEphemeral)
	}
	if !e.State.leased() {
		return &TransitionError{Environment: e.ID, Action: action, From: e.State}
	}
	return nil
}
