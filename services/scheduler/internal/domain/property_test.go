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
// Config.StarvationAfter, k the number of other waits in the same pool
// that started no later than w's and were still going at w's start + S,
// and a the number of workloads of other teams admitted while w starved
// (from w's start + S on) in a pass that began with their team's weighted
// dominant share at or below w's team's. Then w waits at most
// S + (k+a+1)·R. Past S, w (or an older starving workload of its team)
// holds capacity against everything served after it in the fair order, so
// only the k older waits and the a admissions of teams served before it
// can take what it needs, and each R without one of those frees the pool
// of everything admitted before the hold.
//
// a is what fair share costs a starving workload of a team above its
// share: FIFO across teams (a = 0) would let a flood older than S overtake
// the light teams. The flood, Jain and big-job tests show the other side.
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
	ahead    []admission // admissions that may overtake a starving workload
}

// admission is one admission and the weighted dominant shares of every
// team when the pass that made it began.
type admission struct {
	team   string
	at     int
	shares map[string]float64
}

func runScenario(t *testing.T, r *rand.Rand) bool {
	sc, arrivals := newScenario(t, r)
	return sc.run(arrivals, nil)
}

// run submits arrivals on time and settles the core at every minute
// something happens (and on a coarse beat), with check after each, then
// checks the starvation bound.
func (sc *scenario) run(arrivals []Workload, check func(now int) bool) bool {
	pending := 0
	for now := 0; now < 400; now++ {
		if !sc.finishDue(now) && (pending >= len(arrivals) || arrivals[pending].SubmittedAt.After(at(now))) &&
			now%maxRuntime != 0 {
			continue // nothing happened; settle on a coarse beat anyway
		}
		for ; pending < len(arrivals) && !arrivals[pending].SubmittedAt.After(at(now)); pending++ {
			require.NoError(sc.t, sc.s.Submit(arrivals[pending]))
			sc.startWait(arrivals[pending].ID, now)
		}
		if !sc.settle(now) || (check != nil && !check(now)) {
			return false
		}
	}
	return sc.checkStarvation(400)
}

func at(minute int) time.Time { return t0.Add(time.Duration(minute) * time.Minute) }

func newScenario(t *testing.T, r *rand.Rand) (*scenario, []Workload) {
	capacity := Vector{"cpu": 4 + r.Int64N(9), "mem": 4 + r.Int64N(9)}
	sc := newScenarioFor(t, capacity)
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
	return sc, sc.drawWorkloads(r, teams, func(team string) Vector { return sc.limit[team] })
}

func newScenarioFor(t *testing.T, capacity Vector) *scenario {
	return &scenario{t: t, w: map[string]Workload{}, runtime: map[string]int{}, fails: map[string]bool{},
		open: map[string]*wait{}, admitted: map[string]int{}, limit: map[string]Vector{}, capacity: capacity}
}

// drawWorkloads draws 6 to 20 jobs of random teams, each asking for at
// most 4 of a resource and at most bound(team) of it, some behind a
// parent, sorted by submission.
func (sc *scenario) drawWorkloads(r *rand.Rand, teams []Team, bound func(team string) Vector) []Workload {
	var ws []Workload
	for i := range 6 + r.IntN(15) {
		team := teams[r.IntN(len(teams))].Name
		b := bound(team)
		demand := Vector{"cpu": 1 + r.Int64N(min(4, b["cpu"])), "mem": r.Int64N(min(4, b["mem"]) + 1)}
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
	return ws
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
		shares := sc.shares()
		d := Schedule(sc.s, at(now))
		for _, id := range d.Admit {
			sc.ahead = append(sc.ahead, admission{team: sc.w[id].Team, at: now, shares: shares})
		}
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

// usage is what each team's running workloads use.
func (sc *scenario) usage() map[string]Vector {
	usage := map[string]Vector{}
	for _, a := range sc.s.Running() {
		if usage[a.Workload.Team] == nil {
			usage[a.Workload.Team] = Vector{}
		}
		for res, q := range a.Workload.Demand {
			usage[a.Workload.Team][res] += q
		}
	}
	return usage
}

// shares computes each team's weighted dominant share of pool p from the
// running workloads: the largest fraction of a resource it uses above its
// nominal quota, over its weight.
func (sc *scenario) shares() map[string]float64 {
	usage := sc.usage()
	out := map[string]float64{}
	for _, team := range sc.s.Teams() {
		m := 0.0
		for res, c := range sc.capacity {
			if over := usage[team.Name][res] - team.Nominal["p"][res]; over > 0 && c > 0 {
				m = max(m, float64(over)/float64(c))
			}
		}
		out[team.Name] = m / team.Weight
	}
	return out
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
		a := 0
		for _, o := range sc.ahead {
			if o.team != w.team && o.at >= w.start+S && o.at <= end && o.shares[o.team] <= o.shares[w.team]+eps {
				a++
			}
		}
		if !assert.LessOrEqual(sc.t, end-w.start, S+(k+a+1)*maxRuntime, "%s waited from %d to %d (k=%d, a=%d)", w.id, w.start, end, k, a) {
			return false
		}
	}
	return true
}
