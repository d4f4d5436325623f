package app

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/pave-platform/pave/pkg/bus"
	"github.com/pave-platform/pave/pkg/events"
	"github.com/pave-platform/pave/services/cost/internal/domain"
)

// Claim states: an alert is claimed before it is published and marked
// sent after, so a crash in between publishes it again (same event id)
// and it never goes out twice.
var (
	claimPending = []byte("pending")
	claimSent    = []byte("sent")
)

// Evaluate runs one pass of the alerts: budget thresholds crossed, and
// spend spikes. Several replicas may run it; the claims keep each alert
// to one.
func (s *Service) Evaluate(ctx context.Context, rule domain.SpikeRule) error {
	return errors.Join(s.evaluateBudgets(ctx), s.evaluateSpikes(ctx, rule))
}

func (s *Service) evaluateBudgets(ctx context.Context) error {
	views, err := s.Budgets(ctx, func(string) bool { return true })
	if err != nil {
		return err
	}
	places := s.card.Places()
	var errs []error
	for _, v := range views {
		b, st := v.Budget, v.Status
		for _, t := range st.Crossed {
			key := fmt.Sprintf("budget.%s.%d.%d", b.Team, st.PeriodStart.Unix(), t)
			id := fmt.Sprintf("%s/budget/%s/%d", b.Team, st.PeriodStart.Format(time.RFC3339), t)
			data := events.BudgetCrossed{Team: b.Team, Period: b.Period, PeriodStart: st.PeriodStart, PeriodEnd: st.PeriodEnd,
				ThresholdPercent: t, Amount: domain.Money(b.Amount, places), Spent: domain.Money(st.Spent.Round(places), places),
				Forecast: domain.Money(st.Forecast.Round(places), places), Currency: s.card.Currency, At: s.now()}
			errs = append(errs, s.announce(ctx, key, id, events.TypeBudgetCrossed, data))
		}
	}
	return errors.Join(errs...)
}

func (s *Service) evaluateSpikes(ctx context.Context, rule domain.SpikeRule) error {
	var spikes []domain.Spike
	var err error
	now := s.now()
	s.index.Read(func(_ domain.Snapshot, lines []domain.Line) {
		spikes, err = domain.Spikes(s.card, lines, rule, now)
	})
	if err != nil {
		return err
	}
	places := s.card.Places()
	hour := now.Truncate(time.Hour)
	var errs []error
	for _, sp := range spikes {
		key := fmt.Sprintf("spike.%s.%d", sp.Team, hour.Unix())
		id := fmt.Sprintf("%s/spike/%s", sp.Team, hour.Format(time.RFC3339))
		data := events.SpendSpiked{Team: sp.Team, WindowStart: sp.Window.Start, WindowEnd: sp.Window.End,
			LastHour: domain.Money(sp.LastHour.Round(places), places), Baseline: domain.Money(sp.Baseline.Round(places), places),
			BaselineHours: rule.BaselineHours, RelativeThreshold: rule.Ratio.String(), MinimumAmount: rule.MinAmount.String(),
			Currency: s.card.Currency, At: now}
		errs = append(errs, s.announce(ctx, key, id, events.TypeSpendSpiked, data))
	}
	return errors.Join(errs...)
}

// announce publishes an alert once: the claim says whether it is new,
// still pending from a pass that crashed, or sent.
func (s *Service) announce(ctx context.Context, key, id, typ string, data any) error {
	created, err := s.claims.Create(ctx, key, claimPending)
	if err != nil {
		return err
	}
	if !created {
		cur, err := s.claims.Get(ctx, key)
		if err != nil || string(cur) == string(claimSent) {
			return err
		}
	}
	e, err := bus.NewEvent(id, "pave/cost", typ, data)
	if err != nil {
		return err
	}
	if err := s.pub.Publish(ctx, e); err != nil {
		return fmt.Errorf("alert %s: %w", id, err)
	}
	return s.claims.Put(ctx, key, claimSent)
}
