package app

import (
	"context"
	"encoding/json"

	"github.com/pave-platform/pave/services/cost/internal/domain"
)

// BudgetView is a budget with its state now.
type BudgetView struct {
	Budget domain.Budget
	Status domain.Status
}

func (s *Service) budget(ctx context.Context, team string) (*domain.Budget, error) {
	raw, err := s.budgets.Get(ctx, "team."+team)
	if err != nil {
		return nil, err
	}
	var b domain.Budget
	if err := json.Unmarshal(raw, &b); err != nil {
		return nil, err
	}
	return &b, nil
}

// SetBudget stores a validated budget.
func (s *Service) SetBudget(ctx context.Context, b domain.Budget, by string) (BudgetView, error) {
	b.UpdatedBy, b.UpdatedAt = by, s.now()
	raw, err := json.Marshal(b)
	if err != nil {
		return BudgetView{}, err
	}
	if err := s.budgets.Put(ctx, "team."+b.Team, raw); err != nil {
		return BudgetView{}, err
	}
	return s.view(b)
}

// Budget is team's budget and its state now.
func (s *Service) Budget(ctx context.Context, team string) (BudgetView, error) {
	b, err := s.budget(ctx, team)
	if err != nil {
		return BudgetView{}, err
	}
	return s.view(*b)
}

// Budgets lists the budgets of the teams visible says the caller sees.
func (s *Service) Budgets(ctx context.Context, visible func(string) bool) ([]BudgetView, error) {
	raws, err := s.budgets.Values(ctx, "team.")
	if err != nil {
		return nil, err
	}
	var out []BudgetView
	for _, raw := range raws {
		var b domain.Budget
		if err := json.Unmarshal(raw, &b); err != nil || !visible(b.Team) {
			continue
		}
		v, err := s.view(b)
		if err != nil {
			return nil, err
		}
		out = append(out, v)
	}
	return out, nil
}

func (s *Service) view(b domain.Budget) (BudgetView, error) {
	var st domain.Status
	var err error
	s.index.Read(func(snap domain.Snapshot, lines []domain.Line) {
		st, err = domain.TeamStatus(s.card, snap, lines, b, "", s.now())
	})
	return BudgetView{Budget: b, Status: st}, err
}
