package sim

import (
	"fmt"
	"math/rand/v2"
	"sort"
	"time"

	"github.com/pave-platform/pave/services/scheduler/internal/domain"
)

// Stream describes a team's jobs: how many, when they arrive, how big they
// are and how long they run.
type Stream struct {
	Name       string // prefix of the job IDs; the team name if empty
	Team, Pool string
	// Demands are the job sizes; each job picks one uniformly.
	Demands []domain.Vector
	// Runtimes are drawn uniformly from [RuntimeMin, RuntimeMax], in whole
	// seconds when the range is at least a second wide.
	RuntimeMin, RuntimeMax time.Duration
	Count                  int
	// Start is the first arrival, as an offset from the simulation's start.
	Start time.Duration
	// Every is the gap between arrivals, or their mean when Poisson is set;
	// zero makes the whole stream arrive at Start.
	Every       time.Duration
	Poisson     bool
	Priority    int
	Preemptible bool
	MinRuntime  time.Duration
}

// Generate draws the jobs of every stream from r, starting at start, in
// arrival order (ties by ID). The same seed gives the same jobs.
func Generate(start time.Time, r *rand.Rand, streams ...Stream) []Job {
	var jobs []Job
	for _, st := range streams {
		name := st.Name
		if name == "" {
			name = st.Team
		}
		at := start.Add(st.Start)
		for i := range st.Count {
			jobs = append(jobs, Job{Workload: domain.Workload{
				ID: fmt.Sprintf("%s-%d", name, i), Team: st.Team, Pool: st.Pool,
				Demand: st.Demands[r.IntN(len(st.Demands))].Clone(), Priority: st.Priority,
				Preemptible: st.Preemptible, MinRuntime: st.MinRuntime, Kind: domain.KindJob, SubmittedAt: at,
			}, Runtime: st.runtime(r)})
			at = at.Add(st.gap(r))
		}
	}
	sort.SliceStable(jobs, func(i, j int) bool {
		if !jobs[i].SubmittedAt.Equal(jobs[j].SubmittedAt) {
			return jobs[i].SubmittedAt.Before(jobs[j].SubmittedAt)
		}
		return jobs[i].ID < jobs[j].ID
	})
	return jobs
}

func (st Stream) runtime(r *rand.Rand) time.Duration {
	span := st.RuntimeMax - st.RuntimeMin
	switch {
	case span <= 0:
		return st.RuntimeMin
	case span < time.Second:
		return st.RuntimeMin + time.Duration(r.Int64N(int64(span)+1))
	default:
		return st.RuntimeMin + time.Duration(r.Int64N(int64(span/time.Second)+1))*time.Second
	}
}

func (st Stream) gap(r *rand.Rand) time.Duration {
	if !st.Poisson {
		return st.Every
	}
	// Whole milliseconds keep arrivals readable and batches realistic.
	return time.Duration(r.ExpFloat64() * float64(st.Every)).Round(time.Millisecond)
}
