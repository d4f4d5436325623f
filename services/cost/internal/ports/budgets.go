package ports

import (
	"context"
	"errors"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/pave-platform/pave/pkg/rpc"
	"github.com/pave-platform/pave/services/cost/internal/app"
	"github.com/pave-platform/pave/services/cost/internal/domain"
)

// budgetBody is PUT /v1/budgets/{team}.
type budgetBody struct {
	Period     string `json:"period"`
	Amount     string `json:"amount"`
	Thresholds []int  `json:"thresholds"`
	Policy     string `json:"policy"`
}

func (a API) putBudget(ctx context.Context, req rpc.Request) rpc.Reply {
	if !req.Principal.IsPlatformAdmin() {
		return rpc.Fail(http.StatusForbidden, "Forbidden", "only a platform admin may set budgets")
	}
	var b budgetBody
	if rep, ok := decode(req.Body, &b); !ok {
		return rep
	}
	budget, err := domain.NewBudget(req.Path["team"], b.Period, b.Amount, b.Thresholds, b.Policy)
	if err != nil {
		return failure(err)
	}
	if req.IfMatch != "" {
		cur := a.getBudget(ctx, req)
		if cur.Status != http.StatusOK && cur.Status != http.StatusNotFound {
			return cur
		}
		if rep, ok := rpc.CheckTag(req, cur.Headers["ETag"]); !ok {
			return rep
		}
	}
	v, err := a.Svc.SetBudget(ctx, budget, req.Principal.ID)
	if err != nil {
		return failure(err)
	}
	return a.budgetReply(v)
}

// budgetReply answers a budget with its ETag: the budget as set, not its
// spend, which moves on its own.
func (a API) budgetReply(v app.BudgetView) rpc.Reply {
	rep := rpc.OK(http.StatusOK, a.budgetView(v))
	rep.Headers = map[string]string{"ETag": rpc.ETagOfValue(v.Budget)}
	return rep
}

func (a API) getBudget(ctx context.Context, req rpc.Request) rpc.Reply {
	team := req.Path["team"]
	if !req.Principal.InTeam(team) {
		return rpc.NotFound("budget", team)
	}
	v, err := a.Svc.Budget(ctx, team)
	if errors.Is(err, app.ErrNotFound) {
		return rpc.NotFound("budget", team)
	}
	if err != nil {
		return failure(err)
	}
	return a.budgetReply(v)
}

func (a API) listBudgets(ctx context.Context, req rpc.Request) rpc.Reply {
	pq, bad := rpc.ParsePage(req.Query)
	if bad != nil {
		return *bad
	}
	vs, err := a.Svc.Budgets(ctx, req.Principal.InTeam)
	if err != nil {
		return failure(err)
	}
	slices.SortFunc(vs, func(x, y app.BudgetView) int { return strings.Compare(x.Budget.Team, y.Budget.Team) })
	page, next := rpc.Page(vs, func(v app.BudgetView) string { return v.Budget.Team }, pq)
	items := []map[string]any{}
	for _, v := range page {
		items = append(items, a.budgetView(v))
	}
	return rpc.PageReply(items, next)
}

func (a API) budgetView(v app.BudgetView) map[string]any {
	card := a.Svc.Card()
	p := card.Places()
	ts := func(t time.Time) string { return t.UTC().Format(time.RFC3339) }
	crossed := v.Status.Crossed
	if crossed == nil {
		crossed = []int{}
	}
	return map[string]any{
		"team": v.Budget.Team, "period": v.Budget.Period, "amount": domain.Money(v.Budget.Amount, p),
		"currency": card.Currency, "thresholds": v.Budget.Thresholds, "policy": v.Budget.Policy,
		"updated_by": v.Budget.UpdatedBy, "updated_at": ts(v.Budget.UpdatedAt),
		"period_start": ts(v.Status.PeriodStart), "period_end": ts(v.Status.PeriodEnd),
		"spent": domain.Money(v.Status.Spent.Round(p), p), "committed": domain.Money(v.Status.Committed.Round(p), p),
		"forecast":  domain.Money(v.Status.Forecast.Round(p), p),
		"remaining": domain.Money(v.Status.Remaining.Round(p), p),
		"crossed":   crossed,
	}
}

func (a API) rateCard(context.Context, rpc.Request) rpc.Reply {
	card := a.Svc.Card()
	drivers := map[string]map[string]string{}
	for d, classes := range card.Hourly {
		drivers[d] = map[string]string{}
		for c, p := range classes {
			drivers[d][c] = p.String()
		}
	}
	return rpc.OK(http.StatusOK, map[string]any{"currency": card.Currency, "drivers": drivers,
		"jobs": map[string]string{"cpu_second": card.CPUSecond.String(), "gb_second": card.GBSecond.String()}})
}
