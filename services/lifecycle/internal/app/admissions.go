package app

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/cloudevents/sdk-go/v2/event"

	"github.com/pave-platform/pave/pkg/bus"
	"github.com/pave-platform/pave/pkg/events"
	"github.com/pave-platform/pave/pkg/saga"
	"github.com/pave-platform/pave/services/lifecycle/internal/domain"
)

// schedulerAnswer holds the fields of the scheduler's workload events
// that lifecycle reads; each event has some of them.
type schedulerAnswer struct {
	Saga     *events.Saga `json:"saga"`
	Field    string       `json:"field"`
	Reason   string       `json:"reason"`
	Position int          `json:"position"`
	At       time.Time    `json:"at"`
}

// HandleAdmission applies the scheduler's answers to the admit, settle
// and release steps of environment sagas. Admitted moves a queued create
// to provisioning before the saga hears of it; waiting is recorded on the
// queued environment and is no answer for the saga. Events without a
// saga, or of another saga than an environment's, are not lifecycle's.
// Everything here is idempotent, so a redelivery repeats it harmlessly.
func (s *Service) HandleAdmission(d SagaDeliverer) bus.Handler {
	return func(ctx context.Context, e event.Event) error {
		var a schedulerAnswer
		if err := json.Unmarshal(e.Data(), &a); err != nil {
			return bus.Permanent(fmt.Errorf("scheduler event %s: %w", e.ID(), err))
		}
		if a.Saga == nil {
			return nil
		}
		if _, _, ok := parseSagaID(a.Saga.ID); !ok {
			return nil
		}
		ref := fromSaga(*a.Saga)
		var in saga.Input
		switch e.Type() {
		case events.TypeWorkloadWaiting:
			return s.recordWait(ctx, ref.ID, a)
		case events.TypeWorkloadAdmitted:
			if ref.Step == StepAdmit && !ref.Compensation {
				if err := s.recordAdmission(ctx, ref.ID); err != nil {
					return err
				}
			}
			in = saga.StepSucceeded{Ref: ref}
		case events.TypeWorkloadSettled, events.TypeWorkloadReleased:
			in = saga.StepSucceeded{Ref: ref}
		case events.TypeWorkloadRejected:
			in = saga.StepFailed{Ref: ref, Reason: rejection(a.Field, a.Reason)}
		case events.TypeWorkloadCancelled:
			in = saga.StepFailed{Ref: ref, Reason: a.Reason}
		default:
			return nil
		}
		return deliver(ctx, d, in, ref)
	}
}

func rejection(field, reason string) string {
	if field == "" {
		return reason
	}
	return field + ": " + reason
}

// recordAdmission moves the environment whose create saga sagaID is from
// queued to provisioning. Anything else — another operation, a state
// already past queued, a deleted environment — is late news and changes
// nothing.
func (s *Service) recordAdmission(ctx context.Context, sagaID string) error {
	envID, op, ok := parseSagaID(sagaID)
	if !ok || op != OpCreate {
		return nil
	}
	_, err := s.Transition(ctx, envID, func(e domain.Environment) (domain.Environment, error) {
		if e.Operation == nil || e.Operation.ID != sagaID || e.State != domain.StateQueued {
			return e, errNoChange
		}
		return e.MarkProvisioning(s.now())
	})
	if errors.Is(err, errNoChange) || errors.Is(err, ErrNotFound) {
		return nil
	}
	return err
}

// recordWait shows on a queued environment why the scheduler has not
// admitted it yet. A report for an environment no longer queued for
// this create, or older than the one shown, changes nothing.
func (s *Service) recordWait(ctx context.Context, sagaID string, a schedulerAnswer) error {
	envID, op, ok := parseSagaID(sagaID)
	if !ok || op != OpCreate {
		return nil
	}
	_, err := mutate(ctx, s.envs, envID, func(e domain.Environment) (domain.Environment, error) {
		if e.Operation == nil || e.Operation.ID != sagaID {
			return e, errNoChange
		}
		return e.WaitForAdmission(a.Reason, a.Position, a.At, s.now())
	})
	switch {
	case errors.Is(err, errNoChange), errors.Is(err, ErrNotFound),
		errors.Is(err, domain.ErrIllegalTransition), errors.Is(err, domain.ErrStale):
		return nil
	}
	return err
}
