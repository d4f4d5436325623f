package domain_test

import (
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/pave-platform/pave/services/cost/internal/domain"
)

// fleet is n environments of three resources each, all started 30 days
// before now, a third of them resized half-way.
func fleet(n int) domain.Snapshot {
	s := domain.NewSnapshot()
	start := t0.Add(-30 * 24 * time.Hour)
	for i := range n {
		env := fmt.Sprintf("env-%06d", i)
		saga := env + ".create.1"
		p := domain.Plan{SagaID: saga, EnvironmentID: env, Team: fmt.Sprintf("team-%d", i%50), Operation: "create"}
		for _, r := range []struct{ name, driver string }{{"db", "postgres"}, {"cache", "redis"}, {"events", "postgres"}} {
			id := env + "-" + r.name
			p.Resources = append(p.Resources, domain.PlannedResource{ID: id, Name: r.name, Driver: r.driver, Class: "small"})
			m := domain.ResourceMeter{ResourceID: id, EnvironmentID: env, Driver: r.driver,
				Marks: []domain.Mark{{ID: id + "/p", At: start.Add(time.Duration(i) * time.Second), Kind: domain.MarkStart, Saga: saga}}}
			if i%3 == 0 {
				m.Marks = append(m.Marks, domain.Mark{ID: id + "/u", At: start.Add(15 * 24 * time.Hour), Kind: domain.MarkChange, Saga: saga})
			}
			s.Resources[id] = m
		}
		s.Plans[saga] = p
		s.Environments[env] = domain.Environment{ID: env, Team: p.Team, Template: "web-service", Stage: "dev", State: "ready"}
	}
	return s
}

// BenchmarkQuery30DaysHourly10kEnvironments: a 30-day window in hourly
// steps over 10,000 environments (30,000 resources), grouped by team.
// make bench reports its p99.
func BenchmarkQuery30DaysHourly10kEnvironments(b *testing.B) {
	card, err := domain.ParseRateCard([]byte(card))
	if err != nil {
		b.Fatal(err)
	}
	lines := domain.Lines(fleet(10000))
	g, err := domain.NewGrid(domain.Window{Start: t0.Add(-30 * 24 * time.Hour), End: t0}, time.Hour)
	if err != nil {
		b.Fatal(err)
	}
	q := domain.Query{Grid: g, Aggregate: []string{domain.KeyTeam}, Limit: 100, Now: t0}
	var took []time.Duration
	for b.Loop() {
		t := time.Now()
		if _, err := domain.Run(card, lines, q); err != nil {
			b.Fatal(err)
		}
		took = append(took, time.Since(t))
	}
	slices.Sort(took)
	p99 := took[min(len(took)-1, len(took)*99/100)]
	b.ReportMetric(float64(p99.Milliseconds()), "p99-ms")
}

// BenchmarkMetering measures folding marks into priced lines: the work
// per metering event once it is stored.
func BenchmarkMetering(b *testing.B) {
	s := fleet(10000)
	marks := 0
	for _, m := range s.Resources {
		marks += len(m.Marks)
	}
	b.ResetTimer()
	for b.Loop() {
		domain.Lines(s)
	}
	b.ReportMetric(float64(marks)*float64(b.N)/b.Elapsed().Seconds(), "events/s")
}
