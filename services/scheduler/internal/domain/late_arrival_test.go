package domain_test

import (
	"math/rand/v2"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/pave-platform/pave/services/scheduler/internal/domain"
	"github.com/pave-platform/pave/services/scheduler/internal/sim"
)

// The late-arrival runs: a pool of 100 cpu; team a fills it from the start
// with a backlog of 1, 2 and 4 cpu jobs running one to ten minutes; team b
// arrives at lateAt with a backlog of the same kind. Starvation
// reservations are off: the runs are about fair share alone.
const (
	lateCapacity   = 100
	lateMaxRuntime = 10 * time.Minute
	lateAt         = 3 * lateMaxRuntime
	lateEnd        = lateAt + 3*lateMaxRuntime
	// lateTolerance is the ±5% of the brief; one workload (4 cpu) is less.
	lateTolerance = 0.05
)

type lateRun struct {
	a, b        domain.Team
	preemptible bool // a's jobs, after a minute of running
}

func (l lateRun) run(t *testing.T) *sim.Sim {
	t.Helper()
	s, err := sim.New(sim.Config{Pools: []domain.Pool{{Name: "p", Capacity: domain.Vector{"cpu": lateCapacity}}},
		Teams: []domain.Team{l.a, l.b}, SampleEvery: 10 * time.Second})
	require.NoError(t, err)
	sizes := []domain.Vector{{"cpu": 1}, {"cpu": 2}, {"cpu": 4}}
	require.NoError(t, s.Add(sim.Generate(sim.Epoch, rand.New(rand.NewPCG(5, 5)),
		sim.Stream{Team: "a", Pool: "p", Demands: sizes, RuntimeMin: time.Minute, RuntimeMax: lateMaxRuntime,
			Count: 800, Preemptible: l.preemptible, MinRuntime: time.Minute},
		sim.Stream{Team: "b", Pool: "p", Demands: sizes, RuntimeMin: time.Minute, RuntimeMax: lateMaxRuntime,
			Count: 800, Start: lateAt})...))
	require.NoError(t, s.RunUntil(sim.Epoch.Add(lateEnd)))
	return s
}

// checkLateArrival asserts that the pool stays at least 95% used, that a
// holds it before b arrives, and that from converged after b's arrival
// on, b holds its target fraction of the pool within the tolerance while
// both teams still have work queued.
func checkLateArrival(t *testing.T, s *sim.Sim, target float64, converged time.Duration) {
	t.Helper()
	for _, smp := range s.Samples() {
		since := smp.At.Sub(sim.Epoch)
		a, b := smp.Team("a"), smp.Team("b")
		if !assert.GreaterOrEqual(t, smp.Utilization(domain.Vector{"cpu": lateCapacity}), 0.95, "at %s", since) {
			return
		}
		if since < lateAt {
			require.GreaterOrEqual(t, a.Usage["cpu"], int64(95), "a holds the pool at %s", since)
			continue
		}
		require.True(t, a.Backlog > 0 && b.Backlog > 0, "both teams backlogged at %s", since)
		got := float64(b.Usage["cpu"]) / lateCapacity
		if since >= lateAt+converged &&
			!assert.InDelta(t, target, got, lateTolerance, "b's fraction %s after it arrived", since-lateAt) {
			return
		}
	}
}

// Without preemption the late team can only take capacity as a's jobs
// finish, so it needs at most one maximum runtime to reach its share.
func TestLateArrivalConvergesToWeightedShareWithinOneMaxRuntime(t *testing.T) {
	tests := []struct {
		name           string
		giveA, giveB   float64 // weights
		wantBsFraction float64
	}{
		{name: "equal weights", giveA: 1, giveB: 1, wantBsFraction: 0.5},
		{name: "late team weighs twice as much", giveA: 1, giveB: 2, wantBsFraction: 2.0 / 3},
		{name: "late team weighs half as much", giveA: 2, giveB: 1, wantBsFraction: 1.0 / 3},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := lateRun{a: domain.Team{Name: "a", Weight: tt.giveA}, b: domain.Team{Name: "b", Weight: tt.giveB}}.run(t)
			checkLateArrival(t, s, tt.wantBsFraction, lateMaxRuntime)
			assert.Zero(t, s.Stats().Preemptions)
		})
	}
}

// When the holder's work is borrowed and preemptible, the late team does
// not wait for jobs to finish: it takes its share by preemption as soon as
// the victims have run their minimum runtime (one minute, which most of
// a's jobs have when b arrives), and the holder keeps its own share.
func TestLateArrivalTakesItsShareOfBorrowedPreemptibleWorkAtOnce(t *testing.T) {
	nominal := func(n int64) map[string]domain.Vector { return map[string]domain.Vector{"p": {"cpu": n}} }
	tests := []struct {
		name           string
		giveA, giveB   domain.Team
		wantBsFraction float64
	}{
		{name: "fair-share preemption, no quotas", giveA: domain.Team{Name: "a", Weight: 1},
			giveB: domain.Team{Name: "b", Weight: 2}, wantBsFraction: 2.0 / 3},
		{name: "reclaim of nominal quota", giveA: domain.Team{Name: "a", Nominal: nominal(50)},
			giveB: domain.Team{Name: "b", Nominal: nominal(50)}, wantBsFraction: 0.5},
		{name: "reclaim of a small nominal quota", giveA: domain.Team{Name: "a", Nominal: nominal(70)},
			giveB: domain.Team{Name: "b", Nominal: nominal(30), Weight: 2}, wantBsFraction: 0.3},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := lateRun{a: tt.giveA, b: tt.giveB, preemptible: true}.run(t)
			checkLateArrival(t, s, tt.wantBsFraction, 0)
			assert.Positive(t, s.Stats().Preemptions)
			for _, smp := range s.Samples() {
				if a := float64(smp.Team("a").Usage["cpu"]) / lateCapacity; a < 1-tt.wantBsFraction-lateTolerance {
					assert.Failf(t, "a was preempted below its share", "%.2f at %s", a, smp.At.Sub(sim.Epoch))
					return
				}
			}
		})
	}
}
