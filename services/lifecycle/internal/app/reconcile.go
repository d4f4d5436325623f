package app

import (
	"context"
	"errors"
	"time"

	"github.com/pave-platform/pave/pkg/saga"
	"github.com/pave-platform/pave/services/lifecycle/internal/domain"
)

// Reconcile finishes what a crash interrupted and runs the clock: it
// publishes stored transition events, (re)starts the saga of every
// environment with an operation in flight (Start is idempotent), warns
// ephemeral environments before they expire and tears them down when they
// do, and purges deleted environments whose retention is over. It visits
// only environments not at rest. Every step is idempotent; several
// replicas may run it.
func (s *Service) Reconcile(ctx context.Context) error {
	_, err := s.ReconcileVisited(ctx)
	return err
}

// ReconcileVisited is Reconcile; it returns the ids it looked at.
func (s *Service) ReconcileVisited(ctx context.Context) ([]string, error) {
	all, err := s.envs.Reconcilable(ctx)
	if err != nil {
		return nil, err
	}
	visited := make([]string, 0, len(all))
	var errs []error
	for _, env := range all {
		visited = append(visited, env.ID)
		if err := s.reconcileOne(ctx, env); err != nil && !errors.Is(err, ErrNotFound) {
			errs = append(errs, err)
		}
	}
	return visited, errors.Join(errs...)
}

// purgeDeleted removes a deleted environment whose retention is over: its
// key, its name if it still holds it, and what this process remembers of
// it. Its sagas expire on their own (saga.WithRetention).
func (s *Service) purgeDeleted(ctx context.Context, env domain.Environment) error {
	if env.State != domain.StateDeleted || s.now().Sub(env.UpdatedAt) < s.retention || len(env.Outbox) > 0 {
		return nil
	}
	cur, rev, err := s.envs.Get(ctx, env.ID)
	if err != nil || cur.State != domain.StateDeleted {
		return err
	}
	if err := s.envs.Release(ctx, cur.Team, cur.Name, cur.ID); err != nil {
		return err
	}
	if err := s.envs.Purge(ctx, cur.ID, rev); err != nil && !errors.Is(err, ErrConflict) {
		return err
	}
	s.sent.forget(cur.ID)
	return nil
}

func (s *Service) reconcileOne(ctx context.Context, env domain.Environment) error {
	if len(env.Outbox) > 0 {
		s.flush(ctx, env)
	}
	switch env.State {
	case domain.StateRequested, domain.StateQueued, domain.StateProvisioning,
		domain.StateUpdating, domain.StateDecommissioning:
		if _, err := s.startOperation(ctx, env.ID); err != nil {
			return err
		}
		if err := s.abandonCreate(ctx, env); err != nil {
			return err
		}
		return s.settleEnded(ctx, env)
	case domain.StateCompensationFailed:
		return s.retryCompensation(ctx, env)
	case domain.StateDeleted:
		return s.purgeDeleted(ctx, env)
	}
	if !env.Expires() {
		return nil
	}
	now := s.now()
	switch {
	case env.ExpiryDue(now):
		_, err := s.Transition(ctx, env.ID, func(e domain.Environment) (domain.Environment, error) {
			return e.Expire(SagaID(e.ID, OpTeardown, e.Seq+1), now)
		})
		if err != nil {
			return ignoreIllegal(err)
		}
		_, err = s.startOperation(ctx, env.ID)
		return err
	case env.WarningDue(now) && env.State == domain.StateReady:
		_, err := s.Transition(ctx, env.ID, func(e domain.Environment) (domain.Environment, error) {
			return e.Expiring(now)
		})
		return ignoreIllegal(err)
	}
	return nil
}

// ignoreIllegal drops a transition refused because another replica or an
// operation moved the environment first.
func ignoreIllegal(err error) error {
	if errors.Is(err, domain.ErrIllegalTransition) || errors.Is(err, domain.ErrNotDue) {
		return nil
	}
	return err
}

// settleEnded applies what the consumers have not applied (yet) of an
// operation's saga — its admission, its end: the state converges either
// way.
func (s *Service) settleEnded(ctx context.Context, env domain.Environment) error {
	if env.Operation == nil {
		return nil
	}
	inst, err := s.sagas.Get(ctx, env.Operation.ID)
	if err != nil {
		return nil
	}
	if env.State == domain.StateQueued && admitted(inst) {
		if err := s.recordAdmission(ctx, inst.ID); err != nil {
			return err
		}
	}
	if !inst.Status.Terminal() {
		return nil
	}
	return s.HandleSagaEnd(ctx, inst.ID, string(inst.Status), inst.Reason)
}

// admitted reports whether a create saga has its admission and goes on.
func admitted(inst saga.Instance) bool {
	st, ok := inst.Step(StepAdmit)
	return ok && st.Status == saga.StepStatusSucceeded &&
		(inst.Status == saga.StatusRunning || inst.Status == saga.StatusCompleted)
}

// abandonCreate aborts the create saga of an environment torn down before
// it was admitted: the saga withdraws it from the scheduler's queue
// instead of provisioning it later. Aborting a saga that no longer runs,
// or never started, changes nothing.
func (s *Service) abandonCreate(ctx context.Context, env domain.Environment) error {
	if env.State != domain.StateDecommissioning || env.Admission == nil || !env.Admission.AdmittedAt.IsZero() {
		return nil
	}
	err := s.sagas.Deliver(ctx, SagaID(env.ID, OpCreate, 1), saga.Abort{Reason: "environment torn down before admission"})
	if errors.Is(err, saga.ErrNotFound) {
		return nil
	}
	return err
}

// maxResumeDelay caps the wait between rounds of a compensation that
// keeps failing: a server that comes back is noticed within it.
const maxResumeDelay = 2 * time.Minute

// resumeDelay is the wait before round n+1 of a failed compensation:
// doubling from the first backoff, at most maxResumeDelay.
func (s *Service) resumeDelay(n int) time.Duration {
	return min(s.resumeBackoff<<min(n, 16), maxResumeDelay)
}

// retryCompensation keeps at what a failed compensation left: the saga of
// a create or update resumes its undos, with backoff, until every one
// goes (the environment then heals to failed or degraded); a teardown
// that gave up runs again. An operator may delete the environment at any
// time instead.
func (s *Service) retryCompensation(ctx context.Context, env domain.Environment) error {
	if env.Operation == nil {
		return nil
	}
	now := s.now()
	if env.Operation.Kind == domain.OpTeardown {
		if now.Sub(env.UpdatedAt) < s.resumeDelay(5) {
			return nil
		}
		_, err := s.Transition(ctx, env.ID, func(e domain.Environment) (domain.Environment, error) {
			if e.State != domain.StateCompensationFailed || e.Operation == nil || e.Operation.Kind != domain.OpTeardown {
				return e, errNoChange
			}
			return e.BeginTeardown(SagaID(e.ID, OpTeardown, e.Seq+1), "teardown retried: "+e.Reason, now)
		})
		if errors.Is(err, errNoChange) {
			return nil
		}
		if err != nil {
			return ignoreIllegal(err)
		}
		_, err = s.startOperation(ctx, env.ID)
		return err
	}
	inst, err := s.sagas.Get(ctx, env.Operation.ID)
	if err != nil {
		return nil
	}
	switch {
	case inst.Status == saga.StatusCompensated:
		return s.HandleSagaEnd(ctx, inst.ID, string(inst.Status), inst.Reason) // healed; its news was lost
	case inst.Status != saga.StatusCompensationFailed || now.Sub(inst.UpdatedAt) < s.resumeDelay(inst.Resumes):
		return nil
	}
	err = s.sagas.Deliver(ctx, inst.ID, saga.Resume{})
	if errors.Is(err, saga.ErrNotFound) {
		return nil
	}
	return err
}
