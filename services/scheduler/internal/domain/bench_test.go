package domain

import (
	"fmt"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// BenchmarkSchedule: 1,000 teams over 10 pools, a third of each pool
// already running (half of it preemptible), 100,000 workloads pending, 10%
// of them behind a dependency. Every pass decides about every pending
// workload: admit, preempt, cancel or wait with a reason.
func BenchmarkSchedule(b *testing.B) {
	const (
		pools   = 10
		teams   = 1000
		pending = 100_000
	)
	r := rand.New(rand.NewPCG(1, 2))
	var ps []Pool
	for i := range pools {
		ps = append(ps, pool(fmt.Sprintf("p%d", i), Vector{"cpu": 400_000, "memory": 1_600_000, "ops": 2_000}))
	}
	var ts []Team
	for i := range teams {
		p := fmt.Sprintf("p%d", i%pools)
		ts = append(ts, Team{Name: fmt.Sprintf("t%d", i), Weight: float64(1 + i%3),
			Nominal: map[string]Vector{p: {"cpu": 2_000, "memory": 8_000, "ops": 10}}})
	}
	s, err := NewState(Config{StarvationAfter: time.Hour}, ps, ts)
	require.NoError(b, err)
	workload := func(id string, team int, at time.Time) Workload {
		return Workload{ID: id, Team: fmt.Sprintf("t%d", team), Pool: fmt.Sprintf("p%d", team%pools),
			Demand:   Vector{"cpu": 100 + r.Int64N(2_000), "memory": 256 + r.Int64N(8_000), "ops": 1},
			Priority: r.IntN(4), Preemptible: r.IntN(2) == 0, Kind: KindJob, SubmittedAt: at}
	}
	var running []Workload
	for i := range 2 * teams * 3 {
		running = append(running, workload(fmt.Sprintf("r%d", i), i%teams, t0))
	}
	require.NoError(b, s.Submit(running...))
	require.NoError(b, s.Apply(Schedule(s, t0), t0))
	var queue []Workload
	for i := range pending {
		w := workload(fmt.Sprintf("q%d", i), r.IntN(teams), t0.Add(time.Duration(i)*time.Millisecond))
		if r.IntN(10) == 0 {
			w.DependsOn = []string{running[r.IntN(len(running))].ID}
		}
		queue = append(queue, w)
	}
	require.NoError(b, s.Submit(queue...))
	now := t0.Add(10 * time.Minute)

	decisions := 0
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		d := Schedule(s, now)
		decisions += len(d.Admit) + len(d.Preempt) + len(d.Cancel) + len(d.Waiting)
	}
	b.ReportMetric(float64(decisions)/b.Elapsed().Seconds(), "decisions/s")
	b.ReportMetric(float64(decisions)/float64(b.N), "decisions/op")
}
