package app

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/cloudevents/sdk-go/v2/event"

	"github.com/pave-platform/pave/pkg/bus"
	"github.com/pave-platform/pave/pkg/events"
	"github.com/pave-platform/pave/pkg/saga"
	"github.com/pave-platform/pave/services/lifecycle/internal/domain"
)

// SagaDeliverer hands a step's outcome to the saga engine.
type SagaDeliverer interface {
	Deliver(ctx context.Context, sagaID string, in saga.Input) error
}

// HandleProvisioningResult records what provisioning reported on the
// environment's resource, then tells the saga. Both are idempotent, so a
// redelivery repeats them harmlessly.
func (s *Service) HandleProvisioningResult(d SagaDeliverer) bus.Handler {
	return func(ctx context.Context, e event.Event) error {
		var r struct {
			Saga          events.Saga       `json:"saga"`
			EnvironmentID string            `json:"environment_id"`
			ResourceID    string            `json:"resource_id"`
			Outputs       map[string]string `json:"outputs"`
			Reason        string            `json:"reason"`
			Retryable     bool              `json:"retryable"`
			Abandoned     string            `json:"abandoned"`
		}
		if err := json.Unmarshal(e.Data(), &r); err != nil {
			return bus.Permanent(fmt.Errorf("result %s: %w", e.ID(), err))
		}
		if r.Saga.ID == "" {
			return nil // not an environment saga's result
		}
		if err := s.recordResource(ctx, e.Type(), r.EnvironmentID, r.ResourceID, r.Outputs, r.Abandoned); err != nil {
			return err
		}
		ref := fromSaga(r.Saga)
		var in saga.Input = saga.StepSucceeded{Ref: ref}
		if e.Type() == events.TypeResourceFailed {
			in = saga.StepFailed{Ref: ref, Reason: r.Reason, Retryable: r.Retryable}
		}
		return deliver(ctx, d, in, ref)
	}
}

func fromSaga(s events.Saga) saga.Ref {
	return saga.Ref{ID: s.ID, Step: s.Step, Attempt: s.Attempt, Compensation: s.Compensation}
}

// deliver hands an answer to the saga ref names. An answer for a saga
// that does not exist, or that cannot apply to it, never will: it is
// dead-lettered rather than retried.
func deliver(ctx context.Context, d SagaDeliverer, in saga.Input, ref saga.Ref) error {
	err := d.Deliver(ctx, ref.ID, in)
	if errors.Is(err, saga.ErrNotFound) || errors.Is(err, saga.ErrInvalidInput) {
		return bus.Permanent(err)
	}
	return err
}

func resourceState(eventType string) domain.ResourceState {
	switch eventType {
	case events.TypeResourceProvisioned, events.TypeResourceUpdated, events.TypeResourceSanitized:
		return domain.ResourceReady
	case events.TypeResourceDeprovisioned:
		return domain.ResourceDeleted
	}
	return domain.ResourceFailed
}

func (s *Service) recordResource(ctx context.Context, eventType, envID, resourceID string, outputs map[string]string, abandoned string) error {
	name, ok := strings.CutPrefix(resourceID, envID+"-")
	if !ok {
		return nil
	}
	_, err := mutate(ctx, s.envs, envID, func(e domain.Environment) (domain.Environment, error) {
		if abandoned != "" {
			return e.AbandonResource(name, abandoned, s.now())
		}
		st := resourceState(eventType)
		cur, _ := e.Resource(name)
		switch {
		case eventType == events.TypeResourceSanitized:
			outputs, st = cur.Outputs, cur.State
		case eventType == events.TypeResourceFailed && len(outputs) == 0:
			// A failed change leaves the resource as it was: its
			// connection facts stay until it is gone.
			outputs = cur.Outputs
		}
		if known := slices.ContainsFunc(e.Resources, func(r domain.ResourceStatus) bool { return r.Name == name }); known &&
			cur.State == st && maps.Equal(cur.Outputs, outputs) {
			return e, errNoChange // a write would only move UpdatedAt
		}
		return e.RecordResource(name, st, outputs, s.now())
	})
	if errors.Is(err, ErrNotFound) || errors.Is(err, domain.ErrUnknownResource) || errors.Is(err, errNoChange) {
		return nil
	}
	return err
}

// HandleSagaProgress moves the environment when its saga ends.
func (s *Service) HandleSagaProgress(ctx context.Context, e event.Event) error {
	var p events.SagaProgressed
	if err := json.Unmarshal(e.Data(), &p); err != nil {
		return bus.Permanent(fmt.Errorf("progress %s: %w", e.ID(), err))
	}
	if !saga.Status(p.Status).Terminal() {
		return nil // only an end moves the environment: nothing to read
	}
	return s.HandleSagaEnd(ctx, p.SagaID, p.Status, p.Reason)
}

// HandleSagaEnd moves the environment whose operation sagaID is, when the
// saga has ended with status.
func (s *Service) HandleSagaEnd(ctx context.Context, sagaID, status, reason string) error {
	envID, op, ok := parseSagaID(sagaID)
	if !ok {
		return nil
	}
	env, err := s.Transition(ctx, envID, func(env domain.Environment) (domain.Environment, error) {
		if env.Operation == nil || env.Operation.ID != sagaID {
			return env, errNoChange // an older operation's late news
		}
		return afterSaga(env, op, status, reason, s.now())
	})
	if errors.Is(err, errNoChange) || errors.Is(err, ErrNotFound) || errors.Is(err, domain.ErrIllegalTransition) {
		return nil
	}
	if err == nil {
		return s.releaseIfFree(ctx, env)
	}
	return err
}

// releaseIfFree frees the name of an environment, as just stored, that
// no longer needs it: deleted, or failed holding nothing. No write after
// the end's can hold the name again, so it is not read once more.
func (s *Service) releaseIfFree(ctx context.Context, env domain.Environment) error {
	if !env.NameFree() {
		return nil
	}
	return s.envs.Release(ctx, env.Team, env.Name, env.ID)
}

// parseSagaID splits the id of an environment saga,
// <env-id>.<op>.<revision>; ok is false for any other saga.
func parseSagaID(sagaID string) (envID, op string, ok bool) {
	parts := strings.Split(sagaID, ".")
	if len(parts) != 3 || !domain.ValidEnvironmentID(parts[0]) {
		return "", "", false
	}
	return parts[0], parts[1], true
}

// afterSaga is the environment transition a saga's end calls for.
func afterSaga(env domain.Environment, op, status, reason string, now time.Time) (domain.Environment, error) {
	switch saga.Status(status) {
	case saga.StatusCompleted:
		if op == OpTeardown {
			return env.MarkDeleted(now)
		}
		return env.MarkReady(now)
	case saga.StatusCompensated:
		if env.State == domain.StateCompensationFailed {
			// A resumed compensation finished: nothing is left.
			return env.Heal("compensated after all: "+reason, now)
		}
		switch op {
		case OpCreate:
			return env.MarkFailed(reason, now)
		case OpUpdate:
			return env.MarkRolledBack(fmt.Sprintf("update to revision %d rolled back: %s", env.Revision, reason), now)
		}
		return env.MarkCompensationFailed("teardown gave up: "+reason+"; left: "+leftOver(env), now)
	case saga.StatusCompensationFailed:
		why := reason + "; left: " + leftOver(env)
		if env.State == domain.StateCompensationFailed {
			if env.Reason == why {
				return env, errNoChange
			}
			// A resumed round failed again: say what is left now.
			env.Reason, env.UpdatedAt = why, now
			return env, nil
		}
		return env.MarkCompensationFailed(why, now)
	}
	return env, errNoChange
}

// leftOver names the resources that may still exist.
func leftOver(env domain.Environment) string {
	var left []string
	for _, r := range env.Resources {
		if r.State != domain.ResourceDeleted && r.State != domain.ResourcePending && r.State != domain.ResourceAbandoned {
			left = append(left, r.Name+" ("+r.ID+")")
		}
	}
	if len(left) == 0 {
		return "nothing"
	}
	return strings.Join(left, ", ")
}
