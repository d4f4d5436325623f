package app

import (
	"context"
	"errors"

	"github.com/pave-platform/pave/services/lifecycle/internal/domain"
)

// Reconcile finishes what a crash interrupted and runs the clock: it
// publishes stored transition events, (re)starts the saga of every
// environment with an operation in flight (Start is idempotent), warns
// ephemeral environments before they expire and tears them down when they
// do. Every step is idempotent; several replicas may run it.
func (s *Service) Reconcile(ctx context.Context) error {
	all, err := s.envs.List(ctx)
	if err != nil {
		return err
	}
	var errs []error
	for _, env := range all {
		if err := s.reconcileOne(ctx, env); err != nil && !errors.Is(err, ErrNotFound) {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
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
		return s.settleEnded(ctx, env)
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

// settleEnded applies the end of an operation's saga that the progress
// consumer has not applied (yet): the state converges either way.
func (s *Service) settleEnded(ctx context.Context, env domain.Environment) error {
	if env.Operation == nil {
		return nil
	}
	inst, err := s.sagas.Get(ctx, env.Operation.ID)
	if err != nil || !inst.Status.Terminal() {
		return nil
	}
	return s.HandleSagaEnd(ctx, inst.ID, string(inst.Status), inst.Reason)
}
