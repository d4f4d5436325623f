package domain

import (
	"time"

	"github.com/shopspring/decimal"
)

// SpikeRule says when a team's last hour is a spike: above its baseline
// (the average hour of the BaselineHours before it) times Ratio, and
// above the baseline by at least MinAmount.
type SpikeRule struct {
	BaselineHours int
	Ratio         decimal.Decimal
	MinAmount     decimal.Decimal
}

// Spike is one team's spike.
type Spike struct {
	Team     string
	Window   Window
	LastHour Exact
	Baseline Exact
}

// Spikes finds the teams whose last hour before now is a spike.
func Spikes(card RateCard, lines []Line, rule SpikeRule, now time.Time) ([]Spike, error) {
	b := rule.BaselineHours
	g, err := NewGrid(Window{now.Add(-time.Duration(b+1) * time.Hour), now}, time.Hour)
	if err != nil {
		return nil, err
	}
	q := Query{Grid: g, Aggregate: []string{KeyTeam}, Now: now}
	groups, err := totals(lines, q)
	if err != nil {
		return nil, err
	}
	var out []Spike
	for _, grp := range groups {
		steps, err := perStep(card, lines, grp, q)
		if err != nil {
			return nil, err
		}
		var base Exact
		for _, s := range steps[:b] {
			base = base.Add(s)
		}
		base = base.MulRatio(1, int64(b))
		last := steps[b]
		threshold := Exact{n: base.n.Mul(rule.Ratio)}
		if last.Cmp(threshold) > 0 && last.Sub(base).Cmp(ExactOf(rule.MinAmount)) >= 0 {
			out = append(out, Spike{Team: grp.key, Window: g.StepWindow(b), LastHour: last, Baseline: base})
		}
	}
	return out, nil
}
