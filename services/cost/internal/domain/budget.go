package domain

import (
	"fmt"
	"regexp"
	"slices"
	"time"

	"github.com/shopspring/decimal"
)

// Budget policies: what a request that does not fit the budget gets.
const (
	PolicyDeny            = "deny"
	PolicyRequireApproval = "require_approval"
	PolicyAllow           = "allow"
)

// Budget is a team's spending limit per period.
type Budget struct {
	Team       string          `json:"team"`
	Period     string          `json:"period"`
	Amount     decimal.Decimal `json:"amount"`
	Thresholds []int           `json:"thresholds"`
	Policy     string          `json:"policy"`
	UpdatedBy  string          `json:"updated_by"`
	UpdatedAt  time.Time       `json:"updated_at"`
}

// DefaultThresholds are the alert thresholds of a budget that names none.
var DefaultThresholds = []int{50, 80, 100}

var teamRE = regexp.MustCompile(`^[A-Za-z0-9._-]{1,128}$`)

// NewBudget validates a budget, naming each bad field.
func NewBudget(team, period, amount string, thresholds []int, policy string) (Budget, error) {
	b := Budget{Team: team, Period: period, Thresholds: thresholds, Policy: policy}
	var errs []FieldError
	add := func(f, format string, args ...any) {
		errs = append(errs, FieldError{Field: f, Message: fmt.Sprintf(format, args...)})
	}
	if !teamRE.MatchString(team) {
		add("team", "must be 1 to 128 letters, digits, '.', '_' or '-'")
	}
	if b.Period == "" {
		b.Period = PeriodMonthly
	}
	if b.Period != PeriodMonthly && b.Period != PeriodWeekly {
		add("period", "%q is neither monthly nor weekly", period)
	}
	a, err := decimal.NewFromString(amount)
	switch {
	case amount == "":
		add("amount", "is required: a decimal string like \"250.00\"")
	case err != nil:
		add("amount", "%q is not a decimal amount", amount)
	case a.IsNegative():
		add("amount", "must not be negative")
	}
	b.Amount = a
	if b.Thresholds == nil {
		b.Thresholds = slices.Clone(DefaultThresholds)
	}
	for i, t := range b.Thresholds {
		if t < 1 || t > 1000 {
			add(fmt.Sprintf("thresholds[%d]", i), "must be a percentage from 1 to 1000")
		}
	}
	slices.Sort(b.Thresholds)
	b.Thresholds = slices.Compact(b.Thresholds)
	if b.Policy == "" {
		b.Policy = PolicyDeny
	}
	if !slices.Contains([]string{PolicyDeny, PolicyRequireApproval, PolicyAllow}, b.Policy) {
		add("policy", "%q is not deny, require_approval or allow", policy)
	}
	if len(errs) > 0 {
		return Budget{}, &InputError{Fields: errs}
	}
	return b, nil
}

// Status is a budget's state at a moment.
type Status struct {
	PeriodStart time.Time
	PeriodEnd   time.Time
	Spent       Exact
	// Committed is what the team's running resources and pending
	// environments will still cost until the period ends.
	Committed Exact
	Forecast  Exact
	// Crossed are the thresholds the spend has reached.
	Crossed []int
}

// TeamStatus measures team's budget at now, leaving out the plan of
// saga except (the one being checked). The forecast adds to the
// spend what running resources cost until the period ends at their
// current rate, plus the team's jobs at their average rate so far.
func TeamStatus(card RateCard, s Snapshot, lines []Line, b Budget, except string, now time.Time) (Status, error) {
	st := Status{}
	st.PeriodStart, st.PeriodEnd = PeriodBounds(b.Period, now)
	team := func(t string) bool { return t == b.Team }
	g, err := NewGrid(Window{st.PeriodStart, now}, 0)
	if err != nil || !now.After(st.PeriodStart) {
		return st, err
	}
	var jobs Exact
	for _, l := range lines {
		if !team(l.Attr.Team) {
			continue
		}
		for _, seg := range l.Segments {
			u := usage{}
			g.each(seg, now, func(_ int, ms int64) { err = u.add(seg.SKU, ms*seg.PerMS) })
			if err != nil {
				return st, err
			}
			amt := u.amount(card)
			st.Spent = st.Spent.Add(amt)
			switch {
			case seg.SKU.Kind != SKUHours:
				jobs = jobs.Add(amt)
			case seg.End.IsZero() || seg.End.After(now):
				st.Committed = st.Committed.Add(card.Amount(seg.SKU, st.PeriodEnd.Sub(now).Milliseconds()))
			}
		}
	}
	st.Committed = st.Committed.Add(pendingPlans(card, s, b.Team, except, now, st.PeriodEnd))
	st.Forecast = st.Spent.Add(st.Committed).Add(jobs.MulRatio(st.PeriodEnd.Sub(now).Milliseconds(),
		now.Sub(st.PeriodStart).Milliseconds()))
	for _, t := range b.Thresholds {
		limit := ExactOf(b.Amount.Mul(decimal.NewFromInt(int64(t))).Div(decimal.NewFromInt(100)))
		if st.Spent.Sign() > 0 && st.Spent.Cmp(limit) >= 0 {
			st.Crossed = append(st.Crossed, t)
		}
	}
	return st, nil
}

// pendingPlans is what the team's create plans still on their way (not
// this saga's) commit until end: each planned resource that has not
// started metering yet.
func pendingPlans(card RateCard, s Snapshot, team, except string, now, end time.Time) Exact {
	var sum Exact
	for id, p := range s.Plans {
		if id == except || p.Team != team || p.Operation != "create" {
			continue
		}
		env, known := s.Environments[p.EnvironmentID]
		if known && !env.Pending() || !known && now.Sub(p.At) > time.Hour {
			continue
		}
		for _, r := range p.Resources {
			if m, ok := s.Resources[r.ID]; ok && len(m.Marks) > 0 {
				continue
			}
			sum = sum.Add(overHours(hourlyFor(card, []PlannedResource{r}), end.Sub(now)))
		}
	}
	return sum
}
