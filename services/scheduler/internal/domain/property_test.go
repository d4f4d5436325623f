package domain

import (
	"fmt"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// The starvation bound, precisely. Every job runs at most R = maxRuntime.
// A wait starts when a workload becomes eligible (submitted, requeued after
// preemption, or its last parent finished) and ends at admission. Let S be
// Config.StarvationAfter and k the number of other waits in the same pool
// that started no later than w's and were still going at w's start + S.
// Then w waits at most S + (k+1)·R: past S it holds a reservation behind
// at most k older ones, and each R frees the pool of anything admitted
// before the reservations.
const (
	scenarios  = 10_000
	maxRuntime = 5 // minutes
)

func TestScheduleProperties(t *testing.T) {
	const workers = 8
	for w := range workers {
		t.Run(fmt.Sprint(w), func(t *testing.T) {
			t.Parallel()
			for seed := w; seed < scenarios; seed += workers {
				if !runScenario(t, rand.New(rand.NewPCG(uint64(seed), 42))) {
					t.Fatalf("seed %d", seed)
				}
			}
		})
	}
}

type wait struct {
	id, team   string
	start, end int // minutes; end -1 while waiting
}

type scenario struct {
	t        *testing.T
	s        *State
	w        map[string]Workload
	runtime  map[string]int
	fails    map[string]bool
	waits    []*wait
	open     map[string]*wait
	admitted map[string]int
	limit    map[string]Vector
	capacity Vector
}

func runScenario(t *testing.T, r *rand.Rand) bool {
	sc, arrivals := newScenario(t, r)
	pending := 0
	for now := 0; now < 400; now++ {
		if !sc.finishDue(now) && (pending >= len(arrivals) || arrivals[pending].SubmittedAt.After(at(now))) &&
			now%maxRuntime != 0 {
			continue // nothing happened; settle on a coarse beat anyway
		}
		for ; pending < len(arrivals) && !arrivals[pending].SubmittedAt.After(at(now)); pending++ {
			require.NoError(t, sc.s.Submit(arrivals[pending]))
			sc.startWait(arrivals[pending].ID, now)
		}
		if !sc.settle(now) {
			return false
		}
	}
	return sc.checkStarvation(400)
}

func at(minute int) time.Time { return t0.Add(time.Duration(minute) * time.Minute) }

func newScenario(t *testing.T, r *rand.Rand) (*scenario, []Workload) {
	capacity := Vector{"cpu": 4 + r.Int64N(9), "mem": 4 + r.Int64N(9)}
	sc := &scenario{t: t, w: map[string]Workload{}, runtime: map[string]int{}, fails: map[string]bool{},
		open: map[string]*wait{}, admitted: map[string]int{}, limit: map[string]Vector{}, capacity: capacity}
	var teams []Team
	for i := range 2 + r.IntN(3) {
		name := fmt.Sprintf("t%d", i)
		nominal, limit := Vector{}, Vector{}
		team := Team{Name: name, Weight: []float64{0.5, 1, 2}[r.IntN(3)], Nominal: map[string]Vector{"p": nominal}}
		for res, c := range capacity {
			nominal[res] = r.Int64N(c/2 + 1)
			limit[res] = c
		}
		if r.IntN(2) == 0 {
			borrow := Vector{}
			for res, c := range capacity {
				borrow[res] = 1 + r.Int64N(c)
				limit[res] = min(c, nominal[res]+borrow[res])
			}
			team.BorrowingLimit = map[string]Vector{"p": borrow}
		}
		sc.limit[name] = limit
		teams = append(teams, team)
	}
	s, err := NewState(Config{StarvationAfter: time.Duration(maxRuntime*(1+r.IntN(2))) * time.Minute},
		[]Pool{pool("p", capacity)}, teams)
	require.NoError(t, err)
	sc.s = s
	var ws []Workload
	for i := range 6 + r.IntN(15) {
		team := teams[r.IntN(len(teams))].Name
		demand := Vector{"cpu": 1 + r.Int64N(min(4, sc.limit[team]["cpu"])), "mem": r.Int64N(min(4, sc.limit[team]["mem"]) + 1)}
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
	return sc, ws
}

func sortBySubmission(ws []Workload) {
	for i := 1; i < len(ws); i++ {
		for j := i; j > 0 && ws[j].SubmittedAt.Before(ws[j-1].SubmittedAt); j-- {
			ws[j], ws[j-1] = ws[j-1], ws[j]
		}
	}
}

// finishDue ends jobs whose runtime is up; a few of them fail.
func (sc *scenario) finishDue(now int) bool {
	done := false
	for id, start := range sc.admitted {
		if now-start < sc.runtime[id] {
			continue
		}
		delete(sc.admitted, id)
		done = true
		if sc.fails[id] {
			require.NoError(sc.t, sc.s.Fail(id, "exit code 1"))
			continue
		}
		require.NoError(sc.t, sc.s.Finish(id, at(now)))
		for cid, w := range sc.w {
			if len(w.DependsOn) > 0 && w.DependsOn[0] == id && sc.s.Status(cid) == StatusQueued {
				sc.startWait(cid, now) // eligible from now
			}
		}
	}
	return done
}

func (sc *scenario) startWait(id string, now int) {
	w := sc.w[id]
	if len(w.DependsOn) > 0 && sc.s.Status(w.DependsOn[0]) != StatusFinished {
		return
	}
	sc.open[id] = &wait{id: id, team: w.Team, start: now, end: -1}
	sc.waits = append(sc.waits, sc.open[id])
}

// settle runs the core at one instant until it is quiet, checking that
// capacity and quotas hold, minimum runtimes are honoured and no two teams
// preempt each other.
func (sc *scenario) settle(now int) bool {
	preempted := map[[2]string]bool{}
	for range 30 {
		d := Schedule(sc.s, at(now))
		for _, p := range d.Preempt {
			victim, by := sc.w[p.ID], sc.w[p.By]
			if !assert.False(sc.t, preempted[[2]string{victim.Team, by.Team}], "preemption loop %s <-> %s", by.Team, victim.Team) ||
				!assert.GreaterOrEqual(sc.t, now-sc.admitted[p.ID], int(victim.MinRuntime/time.Minute), "preempted before min runtime") {
				return false
			}
			preempted[[2]string{by.Team, victim.Team}] = true
		}
		require.NoError(sc.t, sc.s.Apply(d, at(now)))
		for _, p := range d.Preempt {
			delete(sc.admitted, p.ID)
			sc.startWait(p.ID, now)
		}
		for _, id := range d.Admit {
			sc.admitted[id] = now
			sc.open[id].end = now
			delete(sc.open, id)
		}
		for _, c := range d.Cancel {
			if w := sc.open[c.ID]; w != nil {
				w.end = now
				delete(sc.open, c.ID)
			}
		}
		if !sc.withinCapacity() {
			return false
		}
		if len(d.Admit)+len(d.Preempt)+len(d.Cancel) == 0 {
			return true
		}
	}
	return assert.Fail(sc.t, "the scheduler did not settle")
}

func (sc *scenario) withinCapacity() bool {
	used, byTeam := Vector{}, map[string]Vector{}
	for _, a := range sc.s.Running() {
		if byTeam[a.Workload.Team] == nil {
			byTeam[a.Workload.Team] = Vector{}
		}
		for res, q := range a.Workload.Demand {
			used[res] += q
			byTeam[a.Workload.Team][res] += q
		}
	}
	for res, q := range used {
		if !assert.LessOrEqual(sc.t, q, sc.capacity[res], "pool over capacity for %s", res) {
			return false
		}
	}
	for team, u := range byTeam {
		for res, q := range u {
			if !assert.LessOrEqual(sc.t, q, sc.limit[team][res], "team %s over its borrowing limit for %s", team, res) {
				return false
			}
		}
	}
	return true
}

func (sc *scenario) checkStarvation(horizon int) bool {
	S := int(sc.s.cfg.StarvationAfter / time.Minute)
	for _, w := range sc.waits {
		end := w.end
		if end < 0 {
			end = horizon
		}
		k := 0
		for _, o := range sc.waits {
			if o != w && o.start <= w.start && (o.end < 0 || o.end > w.start+S) {
				k++
			}
		}
		if !assert.LessOrEqual(sc.t, end-w.start, S+(k+1)*maxRuntime, "%s waited from %d to %d (k=%d)", w.id, w.start, end, k) {
			return false
		}
	}
	return true
}
