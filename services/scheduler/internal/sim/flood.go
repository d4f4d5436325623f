package sim

import (
	"fmt"
	"math/rand/v2"
	"time"

	"github.com/pave-platform/pave/services/scheduler/internal/domain"
)

// The flood run. One pool of 64 cpu; three light teams and a heavy one,
// each submitting 40 jobs (1, 2 or 4 cpu, one to five minutes) at Poisson
// times, 45 s apart on average. In the flood, the heavy team also submits
// 132 more jobs every minute for 30 minutes: 4,000 in all, 100 times as
// many as a light team. The light teams' arrivals are the same in both
// runs, so their waits can be compared job by job.
const floodHorizon = time.Hour

// FloodPolicy is how the pool protects the light teams.
type FloodPolicy string

const (
	// FloodFairShare: no nominal quotas; each light team may use at most a
	// quarter of the pool (a borrowing limit); the heavy team's jobs are
	// preemptible, so a light team below its share preempts them.
	FloodFairShare FloodPolicy = "fair-share"
	// FloodReclaim: every team has a quarter of the pool as nominal quota;
	// the light teams do not borrow; the heavy team's borrowed, preemptible
	// jobs are reclaimed.
	FloodReclaim FloodPolicy = "reclaim"
	// FloodGuaranteed: as FloodReclaim, but the light teams lend none of
	// their quota and the heavy team's jobs are not preemptible.
	FloodGuaranteed FloodPolicy = "guaranteed"
)

// FloodOptions varies the run.
type FloodOptions struct {
	Policy          FloodPolicy
	Flood           bool
	StarvationAfter time.Duration
	Seed            uint64
}

// FloodResult is what the light teams saw.
type FloodResult struct {
	// Waits are the light jobs' first waits. A job never admitted counts
	// as waiting until the end of the run, which understates its wait.
	Waits       []time.Duration
	Submitted   int // light jobs submitted
	NotAdmitted int // light jobs still waiting at the end
	Stats       Stats
}

// RunFlood runs the light teams beside a heavy team, flooding or not.
func RunFlood(o FloodOptions) (FloodResult, error) {
	s, err := New(Config{Core: domain.Config{StarvationAfter: o.StarvationAfter},
		Pools: []domain.Pool{{Name: "p", Capacity: domain.Vector{"cpu": 64}}}, Teams: floodTeamsFor(o.Policy)})
	if err != nil {
		return FloodResult{}, err
	}
	sizes := []domain.Vector{{"cpu": 1}, {"cpu": 2}, {"cpu": 4}}
	preemptible := o.Policy != FloodGuaranteed
	stream := func(name, team string, count int) Stream {
		return Stream{Name: name, Team: team, Pool: "p", Demands: sizes, RuntimeMin: time.Minute,
			RuntimeMax: 5 * time.Minute, Count: count, Every: 45 * time.Second, Poisson: true,
			Preemptible: preemptible && team == "heavy"}
	}
	streams := []Stream{stream("l1", "l1", 40), stream("l2", "l2", 40), stream("l3", "l3", 40), stream("heavy", "heavy", 40)}
	if o.Flood {
		for i := range 30 {
			burst := stream(fmt.Sprintf("flood%d", i), "heavy", 132)
			burst.Every, burst.Poisson, burst.Start = 0, false, time.Duration(i)*time.Minute
			streams = append(streams, burst)
		}
	}
	if err := s.Add(Generate(s.now, rand.New(rand.NewPCG(o.Seed, 2)), streams...)...); err != nil {
		return FloodResult{}, err
	}
	if err := s.RunUntil(s.now.Add(floodHorizon)); err != nil {
		return FloodResult{}, err
	}
	res := FloodResult{Stats: s.Stats()}
	for _, r := range s.Records() {
		if r.Team == "heavy" {
			continue
		}
		res.Submitted++
		d, ok := r.Wait()
		if !ok {
			d = s.now.Sub(r.Eligible)
			res.NotAdmitted++
		}
		res.Waits = append(res.Waits, d)
	}
	return res, nil
}

func floodTeamsFor(p FloodPolicy) []domain.Team {
	cpu := func(n int64) map[string]domain.Vector { return map[string]domain.Vector{"p": {"cpu": n}} }
	heavy := domain.Team{Name: "heavy"}
	var teams []domain.Team
	for _, name := range []string{"l1", "l2", "l3"} {
		t := domain.Team{Name: name}
		switch p {
		case FloodFairShare:
			t.BorrowingLimit = cpu(16)
		case FloodReclaim:
			t.Nominal, t.BorrowingLimit = cpu(16), cpu(0)
		case FloodGuaranteed:
			t.Nominal, t.BorrowingLimit, t.LendingLimit = cpu(16), cpu(0), cpu(0)
		}
		teams = append(teams, t)
	}
	if p != FloodFairShare {
		heavy.Nominal = cpu(16)
	}
	return append(teams, heavy)
}
