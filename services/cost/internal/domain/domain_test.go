package domain_test

import (
	"math/rand/v2"
	"testing"
	"time"

	"github.com/shopspring/decimal"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/pave-platform/pave/services/cost/internal/domain"
)

const card = `
currency: USD
drivers:
  postgres: {small: "0.025", medium: "0.10"}
  redis: {small: 0.015}
jobs:
  cpu_second: "0.000011"
  gb_second: "0.0000012"
`

var t0 = time.Date(2025, 3, 10, 0, 0, 0, 0, time.UTC)

func rateCard(t *testing.T) domain.RateCard {
	t.Helper()
	c, err := domain.ParseRateCard([]byte(card))
	require.NoError(t, err)
	return c
}

// history is one environment (db small for 10h, then medium for 5h, then
// deleted; a cache small from 2h, still running) and one job run (2000
// millicores and 2048 MiB for one hour).
func history() domain.Snapshot {
	s := domain.NewSnapshot()
	s.Plans["env-a.create.1"] = domain.Plan{SagaID: "env-a.create.1", EnvironmentID: "env-a", Team: "pay", Operation: "create",
		Resources: []domain.PlannedResource{{ID: "env-a-db", Name: "db", Driver: "postgres", Class: "small"},
			{ID: "env-a-cache", Name: "cache", Driver: "redis", Class: "small"}}}
	s.Plans["env-a.update.2"] = domain.Plan{SagaID: "env-a.update.2", EnvironmentID: "env-a", Team: "pay", Operation: "update",
		Resources: []domain.PlannedResource{{ID: "env-a-db", Name: "db", Driver: "postgres", Class: "medium"}},
		Previous:  []domain.PlannedResource{{ID: "env-a-db", Name: "db", Driver: "postgres", Class: "small"}}}
	s.Environments["env-a"] = domain.Environment{ID: "env-a", Team: "pay", Template: "web", Stage: "dev", State: "ready"}
	s.Resources["env-a-db"] = domain.ResourceMeter{ResourceID: "env-a-db", EnvironmentID: "env-a", Driver: "postgres", Marks: []domain.Mark{
		{ID: "e1", At: t0, Kind: domain.MarkStart, Saga: "env-a.create.1"},
		{ID: "e2", At: t0.Add(10 * time.Hour), Kind: domain.MarkChange, Saga: "env-a.update.2"},
		{ID: "e3", At: t0.Add(15 * time.Hour), Kind: domain.MarkStop, Saga: "env-a.teardown.3"},
	}}
	s.Resources["env-a-cache"] = domain.ResourceMeter{ResourceID: "env-a-cache", EnvironmentID: "env-a", Driver: "redis", Marks: []domain.Mark{
		{ID: "e4", At: t0.Add(2 * time.Hour), Kind: domain.MarkStart, Saga: "env-a.create.1"},
	}}
	s.Jobs["build"] = domain.JobMeter{WorkloadID: "build", Team: "pay", Kind: "job", Labels: map[string]string{"cc": "17"},
		Runs: map[int]domain.JobRun{1: {Demand: map[string]int64{"cpu": 2000, "memory": 2048}, Start: t0.Add(time.Hour), End: t0.Add(2 * time.Hour)}}}
	return s
}

func run(t *testing.T, s domain.Snapshot, agg []string, step time.Duration, now time.Time) domain.Result {
	t.Helper()
	g, err := domain.NewGrid(domain.Window{Start: t0, End: t0.Add(24 * time.Hour)}, step)
	require.NoError(t, err)
	res, err := domain.Run(rateCard(t), domain.Lines(s), domain.Query{Grid: g, Aggregate: agg, Now: now})
	require.NoError(t, err)
	return res
}

// TestReplayGivesExactAmounts: db 10h × 0.025 + 5h × 0.10 = 0.75; cache
// 22h × 0.015 = 0.33; job 2 CPU × 3600 s × 0.000011 = 0.0792 and 2 GB ×
// 3600 s × 0.0000012 = 0.00864. Total 1.16784 → 1.17.
func TestReplayGivesExactAmounts(t *testing.T) {
	res := run(t, history(), []string{"resource"}, 0, t0.Add(24*time.Hour))
	assert.Equal(t, "1.16784", res.Exact.Round(9).String())
	assert.Equal(t, "1.17", domain.Money(res.Total, res.Places))
	got := map[string]string{}
	for _, g := range res.Groups {
		got[g.Key["resource"]] = g.Exact.Round(9).String()
	}
	assert.Equal(t, map[string]string{"env-a-db": "0.75", "env-a-cache": "0.33", "build": "0.08784"}, got)
}

// TestAccrualIsContinuous: at 12:30 the db has run 10h small and 2.5h
// medium, the cache 10.5h, the job its whole hour: 0.5 + 0.1575 + 0.08784.
func TestAccrualIsContinuous(t *testing.T) {
	res := run(t, history(), nil, 0, t0.Add(12*time.Hour+30*time.Minute))
	assert.Equal(t, "0.74534", res.Exact.Round(9).String())
}

// TestDuplicatesAndOrderDoNotChangeTotals: the marks shuffled, each one
// delivered twice, give the same amounts.
func TestDuplicatesAndOrderDoNotChangeTotals(t *testing.T) {
	want := run(t, history(), []string{"resource"}, time.Hour, t0.Add(24*time.Hour))
	rng := rand.New(rand.NewPCG(1, 2))
	for range 50 {
		s := history()
		db := s.Resources["env-a-db"]
		var m domain.ResourceMeter
		m.ResourceID, m.EnvironmentID, m.Driver = db.ResourceID, db.EnvironmentID, db.Driver
		marks := append(append([]domain.Mark{}, db.Marks...), db.Marks...)
		rng.Shuffle(len(marks), func(i, j int) { marks[i], marks[j] = marks[j], marks[i] })
		for _, mk := range marks {
			m.AddMark(mk)
		}
		s.Resources["env-a-db"] = m
		got := run(t, s, []string{"resource"}, time.Hour, t0.Add(24*time.Hour))
		assert.Equal(t, want.Exact.Round(12), got.Exact.Round(12))
		assert.Equal(t, want.Groups, got.Groups)
	}
}

// TestRoundedPartsSumToRoundedTotals: steps sum to their group, groups to
// the total, whatever the amounts.
func TestRoundedPartsSumToRoundedTotals(t *testing.T) {
	res := run(t, history(), []string{"team", "label:cc"}, time.Hour, t0.Add(24*time.Hour))
	sum := decimal.Zero
	for _, g := range res.Groups {
		steps := decimal.Zero
		for _, c := range g.Steps {
			steps = steps.Add(c)
		}
		assert.True(t, steps.Equal(g.Total), "steps %s ≠ group %s", steps, g.Total)
		sum = sum.Add(g.Total)
	}
	assert.True(t, sum.Equal(res.Total), "groups %s ≠ total %s", sum, res.Total)

	rng := rand.New(rand.NewPCG(3, 4))
	for range 200 {
		parts := make([]domain.Exact, 1+rng.IntN(30))
		total := domain.Exact{}
		for i := range parts {
			parts[i] = domain.ExactOf(decimal.New(rng.Int64N(1_000_000), -5))
			total = total.Add(parts[i])
		}
		got := decimal.Zero
		for _, p := range domain.Allocate(parts, 2) {
			got = got.Add(p)
		}
		assert.True(t, got.Equal(total.Round(2)), "%s ≠ %s", got, total.Round(2))
	}
}

func TestFocusRowsSumToQueryTotal(t *testing.T) {
	now := t0.Add(20 * time.Hour)
	w := domain.Window{Start: t0.Add(-time.Hour), End: now}
	rows, err := domain.FocusRows(rateCard(t), domain.Lines(history()), w, nil, now)
	require.NoError(t, err)
	sum := decimal.Zero
	for _, r := range rows {
		sum = sum.Add(r.Billed)
		assert.Len(t, r.Record("USD", "Pave"), len(domain.FocusColumns))
	}
	g, err := domain.NewGrid(w, 0)
	require.NoError(t, err)
	res, err := domain.Run(rateCard(t), domain.Lines(history()), domain.Query{Grid: g, Now: now})
	require.NoError(t, err)
	assert.Equal(t, res.Exact.Round(domain.FocusPlaces).String(), sum.String(), "the rows carry the exact total")
	assert.Equal(t, res.Total.String(), sum.Round(res.Places).String(), "and round to the query's")
	assert.Len(t, rows, 5, "db small, db medium, cache, job cpu and job memory, all on one day")
}

func TestRateCardRefusesBadInputNamingTheField(t *testing.T) {
	tests := []struct{ give, want string }{
		{"currency: USD\ndrivers: {postgres: {small: \"-0.01\"}}\njobs: {cpu_second: 0, gb_second: 0}", "drivers.postgres.small: price -0.01 is negative"},
		{"currency: usd\ndrivers: {postgres: {small: 1}}\njobs: {cpu_second: 0, gb_second: 0}", "currency"},
		{"currency: USD\ndrivers: {oracle: {small: 1}}\njobs: {cpu_second: 0, gb_second: 0}", "drivers.oracle: unknown driver"},
		{"currency: USD\ndrivers: {redis: {small: cheap}}\njobs: {cpu_second: 0, gb_second: 0}", "drivers.redis.small"},
		{"currency: USD\ndrivers: {redis: {small: 1}}\njobs: {cpu_second: -1, gb_second: 0}", "jobs.cpu_second: price -1 is negative"},
		{"currency: USD\ndrivers: {redis: {small: 1}}", "jobs: is required"},
	}
	for _, tt := range tests {
		_, err := domain.ParseRateCard([]byte(tt.give))
		require.ErrorIs(t, err, domain.ErrRateCard, tt.give)
		assert.Contains(t, err.Error(), tt.want)
	}
}

func TestParseWindowAndAggregate(t *testing.T) {
	now := time.Date(2025, 3, 12, 15, 0, 0, 0, time.UTC)
	tests := []struct{ give, want string }{
		{"today", "2025-03-12T00:00:00Z"},
		{"7d", "2025-03-05T15:00:00Z"},
		{"month", "2025-03-01T00:00:00Z"},
		{"week", "2025-03-10T00:00:00Z"},
		{"2025-01-01T00:00:00Z,2025-01-02T00:00:00Z", "2025-01-01T00:00:00Z"},
	}
	for _, tt := range tests {
		w, err := domain.ParseWindow(tt.give, now)
		require.NoError(t, err, tt.give)
		assert.Equal(t, tt.want, w.Start.Format(time.RFC3339), tt.give)
	}
	for _, bad := range []string{"", "yesterdayish", "7x", "-3d", "2025-01-02T00:00:00Z,2025-01-01T00:00:00Z", "2025-01-01,2025-01-02"} {
		_, err := domain.ParseWindow(bad, now)
		assert.Error(t, err, bad)
	}
	keys, err := domain.ParseAggregate("team,environment,label:cc")
	require.NoError(t, err)
	assert.Equal(t, []string{"team", "environment", "label:cc"}, keys)
	for _, bad := range []string{"teams", "team,colour", "label"} {
		_, err := domain.ParseAggregate(bad)
		assert.Error(t, err, bad)
	}
}

// TestCheckDeniesWithTheFigures: a 10 USD monthly budget, 0.33 spent; an
// environment at 0.025/h for the 20 days left is 12.00: over.
func TestCheckDeniesWithTheFigures(t *testing.T) {
	now := time.Date(2025, 3, 12, 0, 0, 0, 0, time.UTC)
	s := history()
	delete(s.Jobs, "build")
	s.Resources["env-a-cache"] = domain.ResourceMeter{ResourceID: "env-a-cache", EnvironmentID: "env-a", Driver: "redis",
		Marks: []domain.Mark{{ID: "x", At: now.Add(-22 * time.Hour), Kind: domain.MarkStart, Saga: "env-a.create.1"},
			{ID: "y", At: now, Kind: domain.MarkStop}}}
	b, err := domain.NewBudget("pay", "monthly", "10", nil, "")
	require.NoError(t, err)
	plan := domain.Plan{SagaID: "env-b.create.1", EnvironmentID: "env-b", Team: "pay", Operation: "create",
		Resources: []domain.PlannedResource{{ID: "env-b-db", Name: "db", Driver: "postgres", Class: "small"}}}
	res, err := domain.Check(rateCard(t), s, domain.Lines(s), plan, &b, now)
	require.NoError(t, err)
	assert.Equal(t, domain.DecisionDenied, res.Decision)
	assert.Contains(t, res.Reason, "budget exceeded")
	assert.Contains(t, res.Reason, "spent 1.08") // db 0.75 + cache 0.33 (March)
	assert.Contains(t, res.Reason, "adds 12.00")
	assert.Contains(t, res.Reason, "over by 3.08 USD")

	b.Policy = domain.PolicyRequireApproval
	res, err = domain.Check(rateCard(t), s, domain.Lines(s), plan, &b, now)
	require.NoError(t, err)
	assert.Equal(t, domain.DecisionApprovalRequired, res.Decision)
	assert.Contains(t, res.Reason, "not implemented")

	b.Amount = decimal.NewFromInt(100)
	res, err = domain.Check(rateCard(t), s, domain.Lines(s), plan, &b, now)
	require.NoError(t, err)
	assert.Equal(t, domain.DecisionAllowed, res.Decision)
}

func TestSpikeNeedsRatioAndMinimum(t *testing.T) {
	now := t0.Add(26 * time.Hour)
	s := domain.NewSnapshot()
	// a steady 2 CPUs for 25 hours, then 200 CPUs in the last hour
	s.Jobs["steady"] = domain.JobMeter{WorkloadID: "steady", Team: "pay", Kind: "job",
		Runs: map[int]domain.JobRun{1: {Demand: map[string]int64{"cpu": 2000}, Start: t0, End: now}}}
	s.Jobs["burst"] = domain.JobMeter{WorkloadID: "burst", Team: "pay", Kind: "job",
		Runs: map[int]domain.JobRun{1: {Demand: map[string]int64{"cpu": 200000}, Start: now.Add(-time.Hour), End: now}}}
	rule := domain.SpikeRule{BaselineHours: 24, Ratio: decimal.NewFromInt(2), MinAmount: decimal.NewFromInt(5)}
	spikes, err := domain.Spikes(rateCard(t), domain.Lines(s), rule, now)
	require.NoError(t, err)
	require.Len(t, spikes, 1)
	assert.Equal(t, "pay", spikes[0].Team)
	assert.Equal(t, "7.9992", spikes[0].LastHour.Round(6).String()) // 202 CPU × 3600 s × 0.000011
	assert.Equal(t, "0.0792", spikes[0].Baseline.Round(6).String())

	rule.MinAmount = decimal.NewFromInt(10)
	spikes, err = domain.Spikes(rateCard(t), domain.Lines(s), rule, now)
	require.NoError(t, err)
	assert.Empty(t, spikes, "above the ratio but not by the minimum amount")
}

// TestStatusAtThePeriodsFirstInstantCommitsRunningResources: at
// 2025-04-01T00:00Z nothing is spent in April yet, but the cache still
// running commits 30 days × 24 h × 0.015 = 10.80 (it counted nothing, so
// a check at that instant saw the whole budget free).
func TestStatusAtThePeriodsFirstInstantCommitsRunningResources(t *testing.T) {
	now := time.Date(2025, 4, 1, 0, 0, 0, 0, time.UTC)
	s := history()
	b, err := domain.NewBudget("pay", "monthly", "20", nil, "")
	require.NoError(t, err)
	st, err := domain.TeamStatus(rateCard(t), s, domain.Lines(s), b, "", now)
	require.NoError(t, err)
	assert.Equal(t, "0", st.Spent.Round(2).String())
	assert.Equal(t, "10.8", st.Committed.Round(2).String())
	assert.Equal(t, "9.2", st.Remaining.Round(2).String())
}
