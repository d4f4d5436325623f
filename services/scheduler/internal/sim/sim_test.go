package sim

import (
	"math/rand/v2"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/pave-platform/pave/services/scheduler/internal/domain"
)

func cpu(n int64) domain.Vector { return domain.Vector{"cpu": n} }

func newJob(id, team string, demand int64, at, runtime time.Duration) Job {
	return Job{Workload: domain.Workload{ID: id, Team: team, Pool: "p", Demand: cpu(demand), Kind: domain.KindJob,
		SubmittedAt: Epoch.Add(at)}, Runtime: runtime}
}

func newSim(t *testing.T, capacity int64, teams ...domain.Team) *Sim {
	t.Helper()
	s, err := New(Config{Pools: []domain.Pool{{Name: "p", Capacity: cpu(capacity)}}, Teams: teams, SampleEvery: time.Minute})
	require.NoError(t, err)
	return s
}

func at(d time.Duration) time.Time { return Epoch.Add(d) }

func TestJobsRunTheirRuntimeAndQueueForCapacity(t *testing.T) {
	s := newSim(t, 1, domain.Team{Name: "a"})
	require.NoError(t, s.Add(newJob("first", "a", 1, 0, 5*time.Minute), newJob("second", "a", 1, time.Minute, 3*time.Minute)))
	require.NoError(t, s.Run())

	first, second := s.Record("first"), s.Record("second")
	assert.Equal(t, []time.Time{at(0), at(0), at(5 * time.Minute)}, []time.Time{first.Eligible, first.Admitted, first.Ended})
	assert.Equal(t, []time.Time{at(time.Minute), at(5 * time.Minute), at(8 * time.Minute)},
		[]time.Time{second.Eligible, second.Admitted, second.Ended})
	wait, ok := second.Wait()
	require.True(t, ok)
	assert.Equal(t, 4*time.Minute, wait)
	assert.Equal(t, domain.StatusFinished, second.Status)
	assert.Equal(t, at(8*time.Minute), s.Now())
}

func TestPreemptedJobQueuesAgainAndRunsItsWholeRuntime(t *testing.T) {
	s := newSim(t, 2, domain.Team{Name: "a"}, domain.Team{Name: "b"})
	holders := []Job{newJob("a1", "a", 1, 0, 10*time.Minute), newJob("a2", "a", 1, 0, 10*time.Minute)}
	for i := range holders {
		holders[i].Preemptible = true
	}
	require.NoError(t, s.Add(append(holders, newJob("b1", "b", 1, 2*time.Minute, time.Minute))...))
	require.NoError(t, s.Run())

	assert.Equal(t, 1, s.Stats().Preemptions)
	victim := s.Record("a2") // the cheapest victim: same priority and admission, highest ID
	require.Equal(t, 1, victim.Preemptions)
	assert.Equal(t, []Span{{at(0), at(0)}, {at(2 * time.Minute), at(3 * time.Minute)}}, victim.Waits,
		"back in the queue at the preemption, readmitted when b1 finishes")
	assert.Equal(t, at(13*time.Minute), victim.Ended, "the stale finish at 10m is ignored")
	assert.Equal(t, at(10*time.Minute), s.Record("a1").Ended)
	assert.Equal(t, time.Minute, victim.LongestWait(s.Now()))
}

func TestChildIsEligibleWhenItsParentFinishesAndCancelledWhenItFails(t *testing.T) {
	s := newSim(t, 4, domain.Team{Name: "a"})
	parent, child := newJob("build", "a", 1, 0, 5*time.Minute), newJob("test", "a", 1, 0, time.Minute)
	child.DependsOn = []string{"build"}
	broken, orphan := newJob("lint", "a", 1, 0, 2*time.Minute), newJob("deploy", "a", 1, 0, time.Minute)
	broken.Fail, orphan.DependsOn = true, []string{"lint"}
	require.NoError(t, s.Add(parent, child, broken, orphan))
	require.NoError(t, s.Run())

	assert.Equal(t, at(5*time.Minute), s.Record("test").Eligible)
	wait, _ := s.Record("test").Wait()
	assert.Zero(t, wait, "the wait starts when the parent finishes, not at submission")
	assert.Equal(t, domain.StatusFailed, s.Record("lint").Status)
	assert.Equal(t, domain.StatusFailed, s.Record("deploy").Status)
	assert.Equal(t, at(2*time.Minute), s.Record("deploy").Ended)
	assert.True(t, s.Record("deploy").Eligible.IsZero())
}

func TestSamplesShowUsageShareAndBacklog(t *testing.T) {
	s := newSim(t, 10, domain.Team{Name: "a", Weight: 2, Nominal: map[string]domain.Vector{"p": cpu(2)}}, domain.Team{Name: "b"})
	require.NoError(t, s.Add(newJob("a1", "a", 6, 0, 90*time.Second), newJob("a2", "a", 6, 0, time.Minute)))
	require.NoError(t, s.RunUntil(at(2*time.Minute)))

	samples := s.Samples()
	require.Len(t, samples, 3)
	first := samples[0].Team("a")
	assert.Equal(t, cpu(6), first.Usage)
	assert.InDelta(t, (6.0-2)/10/2, first.Share, 1e-9, "above nominal, over capacity, over weight")
	assert.Equal(t, 1, first.Backlog)
	assert.Equal(t, 1, samples[1].Team("a").Backlog, "a1 still runs at 1m")
	assert.InDelta(t, 0.6, samples[1].Utilization(cpu(10)), 1e-9)
	assert.Equal(t, TeamSample{Team: "b", Usage: domain.Vector{}}, samples[2].Team("b"))
	assert.Equal(t, 0, samples[2].Team("a").Backlog, "a2 runs from 1m30s")
}

func TestRunsAreDeterministic(t *testing.T) {
	run := func() ([]*Record, []Sample) {
		s := newSim(t, 16, domain.Team{Name: "a"}, domain.Team{Name: "b", Weight: 2})
		jobs := Generate(Epoch, rand.New(rand.NewPCG(3, 4)),
			Stream{Team: "a", Pool: "p", Demands: []domain.Vector{cpu(1), cpu(3)}, RuntimeMin: time.Minute,
				RuntimeMax: 9 * time.Minute, Count: 50, Every: 20 * time.Second, Poisson: true, Preemptible: true},
			Stream{Team: "b", Pool: "p", Demands: []domain.Vector{cpu(2)}, RuntimeMin: time.Minute,
				RuntimeMax: 4 * time.Minute, Count: 50, Every: 30 * time.Second, Start: 5 * time.Minute})
		require.NoError(t, s.Add(jobs...))
		require.NoError(t, s.Run())
		return s.Records(), s.Samples()
	}
	records, samples := run()
	again, againSamples := run()
	assert.Equal(t, records, again)
	assert.Equal(t, samples, againSamples)
}

func TestAddRejectsThePastAndDuplicates(t *testing.T) {
	s := newSim(t, 1, domain.Team{Name: "a"})
	require.NoError(t, s.Add(newJob("x", "a", 1, time.Minute, time.Minute)))
	assert.ErrorIs(t, s.Add(newJob("x", "a", 1, time.Minute, time.Minute)), domain.ErrDuplicateID)
	require.NoError(t, s.RunUntil(at(5*time.Minute)))
	assert.Error(t, s.Add(newJob("late", "a", 1, time.Minute, time.Minute)))
}
