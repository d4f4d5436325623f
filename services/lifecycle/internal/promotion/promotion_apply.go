package promotion

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/pave-platform/pave/pkg/bus"
	"github.com/pave-platform/pave/pkg/events"
	"github.com/pave-platform/pave/pkg/saga"
	"github.com/pave-platform/pave/services/lifecycle/internal/app"
	"github.com/pave-platform/pave/services/lifecycle/internal/domain"
)

// Marks on the revisions a promotion makes, so that a repeated step finds
// its own work instead of doing it twice.
func applyMark(id string) string    { return " via promotion " + id }
func rollbackMark(id string) string { return " rolling back promotion " + id }

// markedRevision is the number of the target's revision made by the step
// whose mark is given, 0 when there is none.
func markedRevision(env domain.Environment, mark string) int {
	i := slices.IndexFunc(env.Revisions, func(r domain.Revision) bool { return strings.HasSuffix(r.By, mark) })
	if i < 0 {
		return 0
	}
	return env.Revisions[i].Number
}

// apply updates the target to the promoted revision's parameters and
// commit; the end of that update answers the step (HandleOperationEnd).
func (s *Promoter) apply(ctx context.Context, rec PromotionRecord, ref saga.Ref) (saga.Input, error) {
	if _, err := s.mutate(ctx, rec.ID, func(r PromotionRecord) (PromotionRecord, error) {
		next, err := r.Move(domain.PromotionApplying, "", s.now())
		r.Promotion = next
		return r, err
	}); err != nil {
		return nil, bus.Permanent(err)
	}
	env, err := s.envs.Stored(ctx, rec.EnvironmentID)
	if err != nil {
		return nil, err
	}
	n := markedRevision(env, applyMark(rec.ID))
	if n == 0 {
		env, err = s.envs.UpdateRevision(ctx, rec.EnvironmentID, rec.Parameters, rec.Commit, rec.By+applyMark(rec.ID))
		if failed, ok := stepRefusal(ref, err, "apply to "+rec.EnvironmentID); ok {
			return failed, nil
		}
		if err != nil {
			return nil, err
		}
		n = env.Revision
	}
	if _, err := s.mutate(ctx, rec.ID, func(r PromotionRecord) (PromotionRecord, error) {
		r.AppliedRevision = n
		return r, nil
	}); err != nil {
		return nil, err
	}
	return s.awaitOperation(ctx, rec.EnvironmentID, n, ref)
}

// stepRefusal turns an update the environment refused (bad parameters,
// busy or broken environment) into the step's failure.
func stepRefusal(ref saga.Ref, err error, what string) (saga.Input, bool) {
	var verr *domain.ValidationError
	var terr *domain.TransitionError
	if errors.As(err, &verr) || errors.As(err, &terr) {
		return saga.StepFailed{Ref: ref, Reason: what + ": " + err.Error(), Retryable: true}, true
	}
	return nil, false
}

// awaitOperation waits for the update to revision n of env: it answers
// at once when the update already ended, else when it ends.
func (s *Promoter) awaitOperation(ctx context.Context, envID string, n int, ref saga.Ref) (saga.Input, error) {
	opID := app.SagaID(envID, app.OpUpdate, n)
	if err := s.proms.Watch(ctx, opID, ref); err != nil {
		return nil, err
	}
	inst, err := s.sagas.Get(ctx, opID)
	if err != nil {
		if errors.Is(err, saga.ErrNotFound) {
			return nil, nil // not started yet: Reconcile starts it, its end answers
		}
		return nil, err
	}
	return operationAnswer(ref, opID, string(inst.Status), inst.Reason), nil
}

// operationAnswer is the step's answer once the environment operation
// opID has status; nil while it runs.
func operationAnswer(ref saga.Ref, opID, status, reason string) saga.Input {
	switch saga.Status(status) {
	case saga.StatusCompleted:
		return saga.StepSucceeded{Ref: ref}
	case saga.StatusCompensated, saga.StatusCompensationFailed:
		return saga.StepFailed{Ref: ref, Reason: fmt.Sprintf("update %s failed: %s", opID, reason)}
	}
	return nil
}

// verify passes once the target is ready with every resource ready and
// every health check of its template answers as expected; a degraded
// target fails at once; otherwise (a check failing included) it asks again
// until the verify timeout, and the promotion is rolled back.
func (s *Promoter) verify(ctx context.Context, rec PromotionRecord, ref saga.Ref) (saga.Input, error) {
	rec, err := s.mutate(ctx, rec.ID, func(r PromotionRecord) (PromotionRecord, error) {
		if r.State == domain.PromotionVerifying {
			return r, errNoChange
		}
		next, err := r.Move(domain.PromotionVerifying, "", s.now())
		if err != nil {
			return r, err
		}
		r.Promotion, r.VerifyStarted = next, s.now()
		return withEvent(r, events.TypePromotionApplied, s.now()), nil
	})
	if err != nil && !errors.Is(err, errNoChange) {
		return nil, bus.Permanent(err)
	}
	env, err := s.envs.Stored(ctx, rec.EnvironmentID)
	if err != nil {
		return nil, err
	}
	problem := unhealthy(env)
	if problem == "" {
		// Pave's records say healthy: the application must say so too.
		if problem = s.probe(ctx, env); problem == "" {
			return saga.StepSucceeded{Ref: ref}, nil
		}
	}
	switch {
	case env.State == domain.StateDegraded || env.State == domain.StateFailed || env.State == domain.StateCompensationFailed:
		return saga.StepFailed{Ref: ref, Reason: "verify: " + problem}, nil
	case s.now().Sub(rec.VerifyStarted) > s.pol.VerifyTimeout:
		return saga.StepFailed{Ref: ref, Reason: fmt.Sprintf("verify: not healthy within %s: %s", s.pol.VerifyTimeout, problem)}, nil
	}
	return saga.StepFailed{Ref: ref, Reason: "verify: " + problem, Retryable: true}, nil
}

// unhealthy says what keeps env from being healthy, "" when nothing.
func unhealthy(env domain.Environment) string {
	if env.State != domain.StateReady {
		msg := fmt.Sprintf("environment %s is %s", env.Name, env.State)
		if env.Reason != "" {
			msg += ": " + env.Reason
		}
		return msg
	}
	for _, r := range env.Resources {
		if r.State != domain.ResourceReady {
			return fmt.Sprintf("environment %s: resource %s is %s", env.Name, r.Name, r.State)
		}
	}
	return ""
}

// rollBack compensates apply: the target gets its previous revision's
// parameters and commit again, as a new revision.
func (s *Promoter) rollBack(ctx context.Context, rec PromotionRecord, ref saga.Ref) (saga.Input, error) {
	if _, err := s.mutate(ctx, rec.ID, func(r PromotionRecord) (PromotionRecord, error) {
		if r.State == domain.PromotionRollingBack {
			return r, errNoChange
		}
		next, err := r.Move(domain.PromotionRollingBack, "", s.now())
		if err != nil {
			return r, err
		}
		r.Promotion = next
		return withEvent(r, events.TypePromotionRollingBack, s.now()), nil
	}); err != nil && !errors.Is(err, errNoChange) {
		return nil, bus.Permanent(err)
	}
	env, err := s.envs.Stored(ctx, rec.EnvironmentID)
	if err != nil {
		return nil, err
	}
	if markedRevision(env, applyMark(rec.ID)) == 0 {
		return saga.StepSucceeded{Ref: ref}, nil // nothing was applied
	}
	n := markedRevision(env, rollbackMark(rec.ID))
	if n == 0 {
		i := slices.IndexFunc(env.Revisions, func(r domain.Revision) bool { return r.Number == rec.PreviousRevision })
		if i < 0 {
			return saga.StepFailed{Ref: ref, Reason: fmt.Sprintf("rollback: environment %s has no revision %d", env.ID, rec.PreviousRevision)}, nil
		}
		prev := env.Revisions[i]
		env, err = s.envs.UpdateRevision(ctx, env.ID, prev.Parameters, prev.Commit, rec.By+rollbackMark(rec.ID))
		if failed, ok := stepRefusal(ref, err, "rollback of "+rec.EnvironmentID); ok {
			return failed, nil
		}
		if err != nil {
			return nil, err
		}
		n = env.Revision
	}
	return s.awaitOperation(ctx, rec.EnvironmentID, n, ref)
}
