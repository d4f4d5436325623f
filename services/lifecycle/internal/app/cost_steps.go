package app

import (
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"strings"

	"github.com/cloudevents/sdk-go/v2/event"

	"github.com/pave-platform/pave/pkg/bus"
	"github.com/pave-platform/pave/pkg/events"
	"github.com/pave-platform/pave/pkg/saga"
)

// StepBudget is the first step of create and update sagas when the cost
// gate is on: cost estimates the resources, holds them against the
// team's budget and answers allowed or denied. It also tells cost each
// resource's class, which metering needs.
const StepBudget = "budget"

// budgetStep asks cost whether the operation fits the budget. Nothing is
// reserved, so there is nothing to undo; a denial is final (not retried)
// and its reason carries the figures.
func budgetStep(op string, p StepPolicy) saga.Step {
	return saga.Step{Name: StepBudget, Do: costCheck(op), Timeout: p.Timeout, Retry: p.Retry}
}

func costCheck(op string) func(saga.Instance, saga.Ref) (saga.Command, error) {
	return func(inst saga.Instance, ref saga.Ref) (saga.Command, error) {
		d, err := readData(inst)
		if err != nil {
			return saga.Command{}, err
		}
		c := events.CostCheckCommand{Saga: toSaga(ref), EnvironmentID: d.EnvironmentID, Team: d.Team,
			Operation: op, RequestedBy: d.RequestedBy}
		for _, r := range d.Resources {
			c.Resources = append(c.Resources, costResource(r))
		}
		for _, name := range slices.Sorted(maps.Keys(d.Previous)) {
			c.Previous = append(c.Previous, costResource(d.Previous[name]))
		}
		return command(events.TypeCostCheckCommand, c)
	}
}

func costResource(r events.ResourceSpec) events.CostResource {
	return events.CostResource{ID: r.ID, Name: r.Name, Driver: r.Driver, Class: r.Class}
}

// HandleCostCheck delivers cost's answer to the budget step: allowed
// goes on, denied fails the saga (nothing was built yet, so the
// environment ends failed with cost's reason and figures).
func (s *Service) HandleCostCheck(d SagaDeliverer) bus.Handler {
	return func(ctx context.Context, e event.Event) error {
		var c events.CostCheck
		if err := json.Unmarshal(e.Data(), &c); err != nil {
			return bus.Permanent(fmt.Errorf("cost check %s: %w", e.ID(), err))
		}
		if _, _, ok := parseSagaID(c.Saga.ID); !ok || c.Saga.Step != StepBudget {
			return nil
		}
		ref := fromSaga(c.Saga)
		var in saga.Input = saga.StepSucceeded{Ref: ref}
		if e.Type() == events.TypeCostCheckDenied {
			in = saga.StepFailed{Ref: ref, Reason: strings.TrimSpace(c.Reason)}
		}
		return deliver(ctx, d, in, ref)
	}
}
