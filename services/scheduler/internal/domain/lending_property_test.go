package domain

import (
	"fmt"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestSchedulePropertiesWithLendingLimits is TestScheduleProperties with
// what that test leaves out: lending limits. Every team may keep part of
// its nominal quota unlendable. On top of capacity, borrowing limits, the
// preemption-loop check and the starvation bound (all from the shared
// scenario helpers), it checks that unlendable idle nominal is never lent:
// after every instant, for every resource,
//
//	Σ usage + Σ over teams of max(0, unlendable nominal − usage) ≤ capacity.
//
// Unlendable nominal adds up to at most the capacity, and every demand fits
// beside the other teams' unlendable nominal, so every workload can run.
func TestSchedulePropertiesWithLendingLimits(t *testing.T) {
	const workers = 8
	for w := range workers {
		t.Run(fmt.Sprint(w), func(t *testing.T) {
			t.Parallel()
			for seed := w; seed < scenarios; seed += workers {
				if !runLendingScenario(t, rand.New(rand.NewPCG(uint64(seed), 7))) {
					t.Fatalf("seed %d", seed)
				}
			}
		})
	}
}

func runLendingScenario(t *testing.T, r *rand.Rand) bool {
	sc, guaranteed, arrivals := newLendingScenario(t, r)
	pending := 0
	for now := 0; now < 400; now++ {
		if !sc.finishDue(now) && (pending >= len(arrivals) || arrivals[pending].SubmittedAt.After(at(now))) &&
			now%maxRuntime != 0 {
			continue
		}
		for ; pending < len(arrivals) && !arrivals[pending].SubmittedAt.After(at(now)); pending++ {
			require.NoError(t, sc.s.Submit(arrivals[pending]))
			sc.startWait(arrivals[pending].ID, now)
		}
		if !sc.settle(now) || !sc.guardsKept(guaranteed, now) {
			return false
		}
	}
	return sc.checkStarvation(400)
}

// newLendingScenario draws a scenario like newScenario, with a lending
// limit on about half the teams' resources. guaranteed is each team's
// unlendable nominal.
func newLendingScenario(t *testing.T, r *rand.Rand) (*scenario, map[string]Vector, []Workload) {
	capacity := Vector{"cpu": 4 + r.Int64N(9), "mem": 4 + r.Int64N(9)}
	sc := &scenario{t: t, w: map[string]Workload{}, runtime: map[string]int{}, fails: map[string]bool{},
		open: map[string]*wait{}, admitted: map[string]int{}, limit: map[string]Vector{}, capacity: capacity}
	n := 2 + r.IntN(3)
	guaranteed := map[string]Vector{}
	var teams []Team
	for i := range n {
		name := fmt.Sprintf("t%d", i)
		nominal, lending, limit, borrow := Vector{}, Vector{}, Vector{}, Vector{}
		guaranteed[name] = Vector{}
		for res, c := range capacity {
			nominal[res] = r.Int64N(c/2 + 1)
			keep := min(nominal[res], r.Int64N(c/int64(n)+1)) // unlendable; all teams' fit in c
			if r.IntN(2) == 0 {
				keep = 0
			}
			lending[res], guaranteed[name][res] = nominal[res]-keep, keep
			borrow[res], limit[res] = c, c
			if r.IntN(2) == 0 {
				borrow[res] = 1 + r.Int64N(c)
				limit[res] = min(c, nominal[res]+borrow[res])
			}
		}
		sc.limit[name] = limit
		teams = append(teams, Team{Name: name, Weight: []float64{0.5, 1, 2}[r.IntN(3)], Nominal: map[string]Vector{"p": nominal},
			LendingLimit: map[string]Vector{"p": lending}, BorrowingLimit: map[string]Vector{"p": borrow}})
	}
	s, err := NewState(Config{StarvationAfter: time.Duration(maxRuntime*(1+r.IntN(2))) * time.Minute},
		[]Pool{pool("p", capacity)}, teams)
	require.NoError(t, err)
	sc.s = s
	var ws []Workload
	for i := range 6 + r.IntN(15) {
		team := teams[r.IntN(len(teams))].Name
		room := roomBeside(capacity, guaranteed, team)
		demand := Vector{"cpu": 1 + r.Int64N(min(4, sc.limit[team]["cpu"], room["cpu"])),
			"mem": r.Int64N(min(4, sc.limit[team]["mem"], room["mem"]) + 1)}
		w := Workload{ID: fmt.Sprintf("w%d", i), Team: team, Pool: "p", Demand: demand, Kind: KindJob,
			Priority: r.IntN(3), Preemptible: r.IntN(2) == 0, MinRuntime: time.Duration(r.IntN(3)) * time.Minute,
			MaxRuntime: maxRuntime * time.Minute, SubmittedAt: at(r.IntN(30))}
		if i > 0 && r.IntN(5) == 0 {
			parent := ws[r.IntN(len(ws))]
			w.DependsOn, w.SubmittedAt = []string{parent.ID}, parent.SubmittedAt.Add(time.Minute)
		}
		ws = append(ws, w)
		sc.w[w.ID], sc.runtime[w.ID], sc.fails[w.ID] = w, 1+r.IntN(maxRuntime), r.IntN(10) == 0
	}
	sortBySubmission(ws)
	return sc, guaranteed, ws
}

// roomBeside is the capacity left to team once every other team's
// unlendable nominal is set aside.
func roomBeside(capacity Vector, guaranteed map[string]Vector, team string) Vector {
	room := capacity.Clone()
	for other, g := range guaranteed {
		if other != team {
			for res, q := range g {
				room[res] -= q
			}
		}
	}
	return room
}

func (sc *scenario) guardsKept(guaranteed map[string]Vector, now int) bool {
	usage := map[string]Vector{}
	for _, a := range sc.s.Running() {
		if usage[a.Workload.Team] == nil {
			usage[a.Workload.Team] = Vector{}
		}
		for res, q := range a.Workload.Demand {
			usage[a.Workload.Team][res] += q
		}
	}
	for res, c := range sc.capacity {
		held := int64(0)
		for team, g := range guaranteed {
			held += usage[team][res] + max(0, g[res]-usage[team][res])
		}
		if !assert.LessOrEqual(sc.t, held, c, "minute %d: %s of unlendable idle nominal was lent", now, res) {
			return false
		}
	}
	return true
}
