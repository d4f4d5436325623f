package app

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/cloudevents/sdk-go/v2/event"

	"github.com/pave-platform/pave/pkg/bus"
	"github.com/pave-platform/pave/pkg/events"
	"github.com/pave-platform/pave/services/cost/internal/domain"
)

// HandleCheck is the budget gate of environment sagas. It records the
// plan (the classes that metering needs), estimates it, holds it against
// the team's budget and answers allowed or denied. The answer's id is
// derived from the command's, so a redelivered command answers once.
func (s *Service) HandleCheck(ctx context.Context, e event.Event) error {
	if e.Type() != events.TypeCostCheckCommand {
		return bus.Permanent(fmt.Errorf("cost: unknown command %s", e.Type()))
	}
	var c events.CostCheckCommand
	if err := json.Unmarshal(e.Data(), &c); err != nil {
		return bus.Permanent(fmt.Errorf("check %s: %w", e.ID(), err))
	}
	now := s.now()
	plan := domain.Plan{SagaID: c.Saga.ID, EnvironmentID: c.EnvironmentID, Team: c.Team, Operation: c.Operation,
		Resources: planned(c.Resources), Previous: planned(c.Previous), At: now}
	b, err := s.budget(ctx, c.Team)
	if err != nil && !errors.Is(err, ErrNotFound) {
		return err
	}
	var res domain.CheckResult
	s.index.Read(func(snap domain.Snapshot, lines []domain.Line) {
		res, err = domain.Check(s.card, snap, lines, plan, b, now)
	})
	if err != nil {
		return err
	}
	if err := s.recordPlan(ctx, plan, res.Decision); err != nil {
		return err
	}
	typ := events.TypeCostCheckAllowed
	if res.Decision != domain.DecisionAllowed {
		typ = events.TypeCostCheckDenied
	}
	ans, err := bus.NewEvent(e.ID()+"/answer", "pave/cost", typ, s.answer(c, res))
	if err != nil {
		return err
	}
	// The saga's consumer keeps order per CloudEvent subject: answers to
	// different sagas are handled side by side.
	ans.SetSubject(c.Saga.ID)
	return s.pub.Publish(ctx, ans)
}

// recordPlan keeps the plan with the gate's decision, before the answer
// goes out: metering finds classes in it, and only an allowed plan
// commits budget while its environment is built. A redelivered command
// keeps the first time it was seen and takes the decision it answers now.
func (s *Service) recordPlan(ctx context.Context, plan domain.Plan, decision string) error {
	plan.Decision = decision
	return mutateJSON(ctx, s.meters, "plan."+plan.SagaID, func(p *domain.Plan) bool {
		if p.SagaID != "" {
			if p.Decision == decision {
				return false
			}
			plan.At = p.At
		}
		*p = plan
		return true
	})
}

func (s *Service) answer(c events.CostCheckCommand, r domain.CheckResult) events.CostCheck {
	places := s.card.Places()
	a := events.CostCheck{Saga: c.Saga, EnvironmentID: c.EnvironmentID, Team: c.Team, Decision: r.Decision,
		Reason: r.Reason, Currency: s.card.Currency, Hourly: r.Estimate.Hourly.String(),
		Monthly: domain.Money(r.Estimate.Monthly.Round(places), places), Increase: r.Increase.String(), At: s.now()}
	if r.Budget != nil {
		a.Budget = &events.CostBudgetFigures{Period: r.Budget.Period, PeriodStart: r.Status.PeriodStart,
			PeriodEnd: r.Status.PeriodEnd, Amount: domain.Money(r.Budget.Amount, places),
			Spent: domain.Money(r.Status.Spent.Round(places), places), Committed: domain.Money(r.Status.Committed.Round(places), places),
			Requested: domain.Money(r.Requested.Round(places), places), Remaining: domain.Money(r.Remaining.Round(places), places),
			Policy: r.Budget.Policy}
	}
	return a
}

func planned(rs []events.CostResource) []domain.PlannedResource {
	var out []domain.PlannedResource
	for _, r := range rs {
		out = append(out, domain.PlannedResource{ID: r.ID, Name: r.Name, Driver: r.Driver, Class: r.Class})
	}
	return out
}
