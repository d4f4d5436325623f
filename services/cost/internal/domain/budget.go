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
	// Remaining is the budget less Spent and Committed: what is left for
	// new commitments. The API and the budget gate both answer it.
	Remaining Exact
	// Crossed are the thresholds the spend has reached.
	Crossed []int
}

// TeamStatus measures team's budget at now, leaving out the plan of
// saga except (the one being checked). It is the one computation of a
// team's spend, commitments and remaining budget: the budget gate and
// the budget API both read it. The forecast adds to the spend what
// running resources cost until the period ends at their current rate,
// plus the team's jobs at their average rate so far.
func TeamStatus(card RateCard, s Snapshot, lines []Line, b Budget, except string, now time.Time) (Status, error) {
	st := Status{}
	st.PeriodStart, st.PeriodEnd = PeriodBounds(b.Period, now)
	spent, jobs, running, err := teamSpend(card, lines, b.Team, st.PeriodStart, now, st.PeriodEnd)
	if err != nil {
		return st, err
	}
	st.Spent = spent
	st.Committed = running.Add(pendingPlans(card, s, b.Team, except, now, st.PeriodEnd))
	st.Forecast = st.Spent.Add(st.Committed).Add(jobs.MulRatio(st.PeriodEnd.Sub(now).Milliseconds(),
		now.Sub(st.PeriodStart).Milliseconds()))
	st.Remaining = ExactOf(b.Amount).Sub(st.Spent).Sub(st.Committed)
	for _, t := range b.Thresholds {
		limit := ExactOf(b.Amount.Mul(decimal.NewFromInt(int64(t))).Div(decimal.NewFromInt(100)))
		if st.Spent.Sign() > 0 && st.Spent.Cmp(limit) >= 0 {
			st.Crossed = append(st.Crossed, t)
		}
	}
	return st, nil
}

// teamSpend is what team's lines cost from start to now (jobs is the
// part of it that jobs cost), and what its resources still running at
// now commit until end at their current class.
func teamSpend(card RateCard, lines []Line, team string, start, now, end time.Time) (spent, jobs, running Exact, err error) {
	var g *Grid
	if now.After(start) {
		grid, err := NewGrid(Window{start, now}, 0)
		if err != nil {
			return spent, jobs, running, err
		}
		g = &grid
	}
	for _, l := range lines {
		if l.Attr.Team != team {
			continue
		}
		for _, seg := range l.Segments {
			if seg.SKU.Kind == SKUHours {
				running = running.Add(card.Amount(seg.SKU, ahead(seg, now, end).Milliseconds()))
			}
			if g == nil {
				continue
			}
			u := usage{}
			g.each(seg, now, func(_ int, ms int64) { err = u.add(seg.SKU, ms*seg.PerMS) })
			if err != nil {
				return spent, jobs, running, err
			}
			amt := u.amount(card)
			spent = spent.Add(amt)
			if seg.SKU.Kind != SKUHours {
				jobs = jobs.Add(amt)
			}
		}
	}
	return spent, jobs, running, nil
}

// ahead is the part of seg between now and end: what a resource still
// running at now commits (an open segment runs until end).
func ahead(seg Segment, now, end time.Time) time.Duration {
	to := end
	if !seg.End.IsZero() {
		to = minTime(seg.End, end)
	}
	return max(to.Sub(maxTime(seg.Start, now)), 0)
}

// pendingPlans is what the team's create plans still on their way (not
// this saga's) commit until end: each planned resource that has not
// started metering yet. A plan the gate did not allow commits nothing.
func pendingPlans(card RateCard, s Snapshot, team, except string, now, end time.Time) Exact {
	var sum Exact
	for id, p := range s.Plans {
		if id == except || p.Team != team || p.Operation != "create" || !p.Allowed() {
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
