package sim

import (
	"fmt"
	"math/rand/v2"
	"time"

	"github.com/pave-platform/pave/services/scheduler/internal/domain"
)

// LargeBacklog builds the state of the domain package's BenchmarkSchedule,
// draw for draw, so schedbench measures the same thing: 1,000 teams over
// 10 pools, a third of each pool already running (half of it
// preemptible), 100,000 workloads pending, 10% of them behind a
// dependency. It returns the state and the instant to schedule at. Keep
// the two in step.
func LargeBacklog() (*domain.State, time.Time, error) {
	const (
		pools   = 10
		teams   = 1000
		pending = 100_000
	)
	r := rand.New(rand.NewPCG(1, 2))
	var ps []domain.Pool
	for i := range pools {
		ps = append(ps, domain.Pool{Name: fmt.Sprintf("p%d", i),
			Capacity: domain.Vector{"cpu": 400_000, "memory": 1_600_000, "ops": 2_000}})
	}
	var ts []domain.Team
	for i := range teams {
		p := fmt.Sprintf("p%d", i%pools)
		ts = append(ts, domain.Team{Name: fmt.Sprintf("t%d", i), Weight: float64(1 + i%3),
			Nominal: map[string]domain.Vector{p: {"cpu": 2_000, "memory": 8_000, "ops": 10}}})
	}
	s, err := domain.NewState(domain.Config{StarvationAfter: time.Hour}, ps, ts)
	if err != nil {
		return nil, time.Time{}, err
	}
	workload := func(id string, team int, at time.Time) domain.Workload {
		return domain.Workload{ID: id, Team: fmt.Sprintf("t%d", team), Pool: fmt.Sprintf("p%d", team%pools),
			Demand:   domain.Vector{"cpu": 100 + r.Int64N(2_000), "memory": 256 + r.Int64N(8_000), "ops": 1},
			Priority: r.IntN(4), Preemptible: r.IntN(2) == 0, Kind: domain.KindJob, SubmittedAt: at}
	}
	var running []domain.Workload
	for i := range 2 * teams * 3 {
		running = append(running, workload(fmt.Sprintf("r%d", i), i%teams, Epoch))
	}
	if err := s.Submit(running...); err != nil {
		return nil, time.Time{}, err
	}
	if err := s.Apply(domain.Schedule(s, Epoch), Epoch); err != nil {
		return nil, time.Time{}, err
	}
	queue := make([]domain.Workload, 0, pending)
	for i := range pending {
		w := workload(fmt.Sprintf("q%d", i), r.IntN(teams), Epoch.Add(time.Duration(i)*time.Millisecond))
		if r.IntN(10) == 0 {
			w.DependsOn = []string{running[r.IntN(len(running))].ID}
		}
		queue = append(queue, w)
	}
	if err := s.Submit(queue...); err != nil {
		return nil, time.Time{}, err
	}
	return s, Epoch.Add(10 * time.Minute), nil
}

// Decisions counts what one pass decided about: every admission,
// preemption, cancellation and wait.
func Decisions(d domain.Decisions) int {
	return len(d.Admit) + len(d.Preempt) + len(d.Cancel) + len(d.Waiting)
}
