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
	return sc.run(arrivals, func(now int) bool { return sc.guardsKept(guaranteed, now) })
}

// newLendingScenario draws a scenario like newScenario, with a lending
// limit on about half the teams' resources. guaranteed is each team's
// unlendable nominal.
func newLendingScenario(t *testing.T, r *rand.Rand) (*scenario, map[string]Vector, []Workload) {
	capacity := Vector{"cpu": 4 + r.Int64N(9), "mem": 4 + r.Int64N(9)}
	sc := newScenarioFor(t, capacity)
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
	ws := sc.drawWorkloads(r, teams, func(team string) Vector {
		room := roomBeside(capacity, guaranteed, team)
		return Vector{"cpu": min(sc.limit[team]["cpu"], room["cpu"]), "mem": min(sc.limit[team]["mem"], room["mem"])}
	})
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
	usage := sc.usage()
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
