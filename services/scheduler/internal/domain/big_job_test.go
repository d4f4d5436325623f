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

// smallRuntime is the longest runtime of the small jobs; StarvationAfter
// is set to it, so a big job that no older wait stands in front of waits
// at most 2·smallRuntime: smallRuntime to become starving, then at most
// smallRuntime for the small jobs running at that moment to finish.
const smallRuntime = 5 * time.Minute

// TestBigJobInStreamOfSmallOnesAcrossSeeds strengthens
// TestBigJobInStreamOfSmallOnes: 50 seeds, a Poisson stream of 1 and 2
// cpu jobs that keeps arriving for the whole run, and a job asking for
// the whole pool arriving at a random time. It asserts the starvation
// bound of property_test.go, S + (k+1)·R, with k the small waits that
// started no later than the big job's and were still going S after it;
// when k is 0 that is the 2·smallRuntime of the brief. It also asserts
// the stream really blocks the big job: without reservations it waits
// more than 2·smallRuntime in most seeds.
func TestBigJobInStreamOfSmallOnesAcrossSeeds(t *testing.T) {
	tests := []struct {
		name string
		gap  time.Duration // mean gap between small arrivals
	}{
		{name: "stream at 84% of the pool", gap: 40 * time.Second},
		{name: "stream at 112% of the pool", gap: 30 * time.Second},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			starved, lonely := 0, 0
			for seed := range 50 {
				wait, k := bigJobWait(t, uint64(seed), tt.gap, smallRuntime)
				assert.LessOrEqual(t, wait, smallRuntime+time.Duration(k+1)*smallRuntime, "seed %d, k=%d", seed, k)
				if k == 0 {
					lonely++
					assert.LessOrEqual(t, wait, 2*smallRuntime, "seed %d", seed)
				}
				if w, _ := bigJobWait(t, uint64(seed), tt.gap, 0); w > 2*smallRuntime {
					starved++
				}
			}
			assert.Positive(t, lonely, "some seeds exercise the 2·smallRuntime bound")
			assert.Greater(t, starved, 35, "without reservations the stream starves the big job")
		})
	}
}

// bigJobWait runs one seed and returns the big job's wait (an hour if it
// never ran) and k.
func bigJobWait(t *testing.T, seed uint64, gap, starvationAfter time.Duration) (time.Duration, int) {
	t.Helper()
	r := rand.New(rand.NewPCG(seed, 9))
	s, err := sim.New(sim.Config{Core: domain.Config{StarvationAfter: starvationAfter},
		Pools: []domain.Pool{{Name: "p", Capacity: domain.Vector{"cpu": 8}}},
		Teams: []domain.Team{{Name: "small"}, {Name: "big"}}})
	require.NoError(t, err)
	jobs := sim.Generate(sim.Epoch, r, sim.Stream{Team: "small", Pool: "p",
		Demands:    []domain.Vector{{"cpu": 1}, {"cpu": 2}},
		RuntimeMin: time.Minute, RuntimeMax: smallRuntime, Count: 400, Every: gap, Poisson: true})
	arrives := sim.Epoch.Add(5*time.Minute + time.Duration(r.Int64N(int64(40*time.Minute))))
	require.True(t, jobs[len(jobs)-1].SubmittedAt.After(arrives.Add(time.Hour)), "the stream outlasts the run")
	big := sim.Job{Workload: domain.Workload{ID: "big", Team: "big", Pool: "p", Demand: domain.Vector{"cpu": 8},
		Kind: domain.KindJob, SubmittedAt: arrives}, Runtime: time.Minute}
	require.NoError(t, s.Add(append(jobs, big)...))
	require.NoError(t, s.RunUntil(arrives.Add(time.Hour)))

	wait, ok := s.Record("big").Wait()
	if !ok {
		wait = time.Hour
	}
	return wait, olderWaits(s, "big", smallRuntime)
}

// olderWaits is the k of the starvation bound for id.
func olderWaits(s *sim.Sim, id string, starvationAfter time.Duration) int {
	w := s.Record(id)
	deadline := w.Eligible.Add(starvationAfter)
	k := 0
	for _, o := range s.Records() {
		if o.ID == id || o.Eligible.IsZero() || o.Eligible.After(w.Eligible) {
			continue
		}
		if o.Admitted.IsZero() || o.Admitted.After(deadline) {
			k++
		}
	}
	return k
}
