package sim

import (
	"time"

	"github.com/pave-platform/pave/services/scheduler/internal/domain"
)

// Record is what happened to one job.
type Record struct {
	ID, Team, Pool string
	Submitted      time.Time
	Eligible       time.Time // first became eligible; zero while a parent runs
	Admitted       time.Time // first admission; zero if never admitted
	Ended          time.Time // finished, failed or cancelled; zero while alive
	Status         domain.Status
	Preemptions    int
	// Waits are the stretches from eligible to admission, oldest first; the
	// last one has a zero End while the job still waits.
	Waits []Span
}

// Span is a stretch of virtual time; End is zero while it lasts.
type Span struct{ Start, End time.Time }

// Wait is the first wait, from eligible to first admission. ok is false
// if the job was never both.
func (r *Record) Wait() (d time.Duration, ok bool) {
	if r.Eligible.IsZero() || r.Admitted.IsZero() {
		return 0, false
	}
	return r.Admitted.Sub(r.Eligible), true
}

// LongestWait is the longest of the job's waits, an open one measured up
// to now.
func (r *Record) LongestWait(now time.Time) time.Duration {
	longest := time.Duration(0)
	for _, w := range r.Waits {
		end := w.End
		if end.IsZero() {
			end = now
		}
		longest = max(longest, end.Sub(w.Start))
	}
	return longest
}

func (r *Record) openWait(at time.Time) {
	r.Waits = append(r.Waits, Span{Start: at})
}

func (r *Record) closeWait(at time.Time) {
	if n := len(r.Waits); n > 0 && r.Waits[n-1].End.IsZero() {
		r.Waits[n-1].End = at
	}
}

// Sample is one pool at one instant, after the instant's batch settled.
type Sample struct {
	At    time.Time
	Pool  string
	Used  domain.Vector
	Teams []TeamSample // by team name
}

// TeamSample is a team's standing in a pool.
type TeamSample struct {
	Team  string
	Usage domain.Vector
	// Share is the weighted dominant share as the core computes it: the
	// largest fraction of any pool resource used above the nominal quota,
	// divided by the weight.
	Share float64
	// Backlog counts the team's eligible workloads queued in the pool.
	Backlog int
}

// Team returns the sample of one team.
func (s Sample) Team(name string) TeamSample {
	for _, t := range s.Teams {
		if t.Team == name {
			return t
		}
	}
	return TeamSample{Team: name}
}

// Utilization is the largest fraction of any resource in use.
func (s Sample) Utilization(capacity domain.Vector) float64 {
	u := 0.0
	for r, c := range capacity {
		if c > 0 {
			u = max(u, float64(s.Used[r])/float64(c))
		}
	}
	return u
}
