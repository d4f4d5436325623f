package domain

import (
	"fmt"
	"time"

	"github.com/shopspring/decimal"
)

// Check decisions.
const (
	DecisionAllowed          = "allowed"
	DecisionDenied           = "denied"
	DecisionApprovalRequired = "approval_required"
)

// CheckResult is the budget gate's answer for one plan.
type CheckResult struct {
	Decision string
	Reason   string
	Estimate Estimate
	// Increase is the hourly cost the operation adds.
	Increase decimal.Decimal
	// Budget and the figures are set when the team has a budget.
	Budget    *Budget
	Status    Status
	Requested Exact
	Remaining Exact
}

// Check holds plan against the team's budget b (nil: none) at now.
func Check(card RateCard, s Snapshot, lines []Line, plan Plan, b *Budget, now time.Time) (CheckResult, error) {
	est, _ := EstimateOf(card, plan.Resources)
	r := CheckResult{Decision: DecisionAllowed, Estimate: est,
		Increase: hourlyFor(card, plan.Resources).Sub(hourlyFor(card, plan.Previous))}
	if b == nil {
		r.Reason = fmt.Sprintf("team %s has no budget; estimate %s %s per hour", plan.Team, est.Hourly, card.Currency)
		return r, nil
	}
	st, err := TeamStatus(card, s, lines, *b, plan.SagaID, now)
	if err != nil {
		return r, err
	}
	r.Budget, r.Status = b, st
	places, cur := card.Places(), card.Currency
	r.Requested = overHours(decimal.Max(r.Increase, decimal.Zero), st.PeriodEnd.Sub(now))
	r.Remaining = st.Remaining
	over := r.Requested.Sub(r.Remaining)
	figures := fmt.Sprintf("team %s's %s budget is %s %s: spent %s, committed %s until %s, remaining %s; this %s adds %s (%s %s per hour)",
		plan.Team, b.Period, Money(b.Amount, places), cur, Money(st.Spent.Round(places), places),
		Money(st.Committed.Round(places), places), st.PeriodEnd.Format(time.RFC3339), Money(r.Remaining.Round(places), places),
		plan.Operation, Money(r.Requested.Round(places), places), r.Increase, cur)
	if r.Increase.Sign() <= 0 || over.Sign() <= 0 {
		r.Reason = "fits: " + figures
		return r, nil
	}
	overBy := fmt.Sprintf("; over by %s %s", Money(over.Round(places), places), cur)
	switch b.Policy {
	case PolicyAllow:
		r.Reason = "allowed over budget by policy: " + figures + overBy
	case PolicyRequireApproval:
		r.Decision = DecisionApprovalRequired
		r.Reason = "needs an approval, which Pave cannot grant yet (approvals through access are not implemented): " + figures + overBy
	default:
		r.Decision = DecisionDenied
		r.Reason = "budget exceeded: " + figures + overBy
	}
	return r, nil
}
