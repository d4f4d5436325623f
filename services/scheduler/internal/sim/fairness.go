package sim

import (
	"math/rand/v2"
	"time"

	"github.com/pave-platform/pave/services/scheduler/internal/domain"
)

// The saturated mixed run behind the fairness figures. One pool of 256 cpu
// and 1024 GiB of memory; four teams with different weights, job shapes
// and runtimes, each with a backlog that outlasts the run; a fifth team
// arrives with its own backlog at FairnessLateAt. No nominal quotas, so a
// team's share is plain weighted DRF: its dominant usage over capacity,
// divided by its weight.
const (
	// FairnessMaxRuntime is the longest runtime of any job in the run.
	FairnessMaxRuntime = 10 * time.Minute
	FairnessLateAt     = 4 * FairnessMaxRuntime
	FairnessEnd        = FairnessLateAt + 2*FairnessMaxRuntime
)

// FairnessOptions varies the run.
type FairnessOptions struct {
	StarvationAfter time.Duration
	// Preemptible makes every job preemptible after a minute of running,
	// so the late team can take its share at once.
	Preemptible bool
	Seed        uint64
}

// FairnessResult is Jain's index of the backlogged teams' weighted
// dominant shares, sampled every virtual second, over three windows.
type FairnessResult struct {
	// Steady is [FairnessMaxRuntime, FairnessLateAt). Steady state is taken
	// to start once every job admitted into the empty pool at the start
	// could have finished, so the figure no longer reflects the first fill.
	Steady Summary
	// Arrival is [FairnessLateAt, FairnessLateAt+FairnessMaxRuntime): the
	// late team starts from nothing and, without preemption, can only grow
	// as jobs finish. At the instant it arrives with nothing running, the
	// index of five teams is at most 4/5.
	Arrival Summary
	// Settled is [FairnessLateAt+FairnessMaxRuntime, FairnessEnd].
	Settled Summary
	// Backlogged says every team that had arrived had eligible work queued
	// at every measured sample, so each figure is over all of them.
	Backlogged bool
	Stats      Stats
}

// RunFairness runs the saturated mixed workload.
func RunFairness(o FairnessOptions) (FairnessResult, error) {
	v := func(cpu, mem int64) domain.Vector { return domain.Vector{"cpu": cpu, "memory": mem} }
	s, err := New(Config{Core: domain.Config{StarvationAfter: o.StarvationAfter}, SampleEvery: time.Second,
		Pools: []domain.Pool{{Name: "p", Capacity: v(256, 1024)}},
		Teams: []domain.Team{{Name: "alpha", Weight: 1}, {Name: "beta", Weight: 2}, {Name: "gamma", Weight: 1},
			{Name: "delta", Weight: 0.5}, {Name: "late", Weight: 1}}})
	if err != nil {
		return FairnessResult{}, err
	}
	minRuntime := time.Duration(0)
	if o.Preemptible {
		minRuntime = time.Minute
	}
	stream := func(team string, count int, runMin, runMax time.Duration, demands ...domain.Vector) Stream {
		return Stream{Team: team, Pool: "p", Demands: demands, RuntimeMin: runMin, RuntimeMax: runMax,
			Count: count, Preemptible: o.Preemptible, MinRuntime: minRuntime}
	}
	late := stream("late", 150, 2*time.Minute, 8*time.Minute, v(4, 4))
	late.Start = FairnessLateAt
	jobs := Generate(s.now, rand.New(rand.NewPCG(o.Seed, 1)),
		stream("alpha", 350, time.Minute, FairnessMaxRuntime, v(4, 8), v(2, 4)),
		stream("beta", 1300, 30*time.Second, 5*time.Minute, v(1, 16), v(2, 8)),
		stream("gamma", 120, 5*time.Minute, FairnessMaxRuntime, v(8, 16)),
		stream("delta", 750, time.Minute, 3*time.Minute, v(2, 2)),
		late)
	if err := s.Add(jobs...); err != nil {
		return FairnessResult{}, err
	}
	if err := s.RunUntil(s.now.Add(FairnessEnd)); err != nil {
		return FairnessResult{}, err
	}
	return fairnessOf(s), nil
}

func fairnessOf(s *Sim) FairnessResult {
	var steady, arrival, settled []float64
	backlogged := true
	for _, smp := range s.Samples() {
		since := smp.At.Sub(s.cfg.Start)
		shares := BackloggedShares(smp)
		want := 4
		if since >= FairnessLateAt {
			want = 5
		}
		backlogged = backlogged && (since < FairnessMaxRuntime || len(shares) == want)
		switch j := Jain(shares); {
		case since < FairnessMaxRuntime:
		case since < FairnessLateAt:
			steady = append(steady, j)
		case since < FairnessLateAt+FairnessMaxRuntime:
			arrival = append(arrival, j)
		default:
			settled = append(settled, j)
		}
	}
	return FairnessResult{Steady: Summarize(steady), Arrival: Summarize(arrival), Settled: Summarize(settled),
		Backlogged: backlogged, Stats: s.Stats()}
}
