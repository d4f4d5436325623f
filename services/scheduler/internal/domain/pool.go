package domain

import (
	"math"
	"time"
)

// poolRun is one pass's working copy of a pool: usage, reservations held
// for starving workloads, and the idle nominal other teams may not lend.
type poolRun struct {
	info        *poolInfo
	teamsByName map[string]*Team
	cfg         Config
	now         time.Time
	d           *Decisions
	used        []int64
	reserved    []int64
	guard       []int64 // sum over teams of their unlendable idle nominal
	teams       map[string]*teamRun
	order       []*teamRun // by name
	victims     int        // preemptible admitted workloads not yet taken
	heap        teamHeap
}

// teamRun is one team's standing in a pool during a pass.
type teamRun struct {
	name         string
	weight       float64
	q            *quota
	usage        []int64
	firm         []int64 // usage by work that is not preemptible, at most nominal
	held         []int64 // team quota held for the team's starving workloads
	queue        []*cand
	next         int
	victims      []*entry // preemptible admitted work, cheapest victim first
	taken        []bool
	share        float64 // weighted dominant share
	idx          int     // in the heap, -1 when out
	preemptTried bool
	holding      bool // the team's first starving workload holds capacity
}

func (p *poolRun) team(name string) *teamRun {
	if t := p.teams[name]; t != nil {
		return t
	}
	n := len(p.info.resources)
	t := &teamRun{name: name, weight: p.teamsByName[name].Weight, q: p.info.quotas[name],
		usage: make([]int64, n), firm: make([]int64, n), held: make([]int64, n), idx: -1}
	p.teams[name] = t
	return t
}

func (p *poolRun) load(e *entry) {
	t := p.team(e.w.Team)
	addTo(t.usage, e.demand, 1)
	addTo(p.used, e.demand, 1)
	if e.w.Preemptible {
		t.victims = append(t.victims, e)
		p.victims++
	} else {
		addTo(t.firm, e.demand, 1)
	}
}

// firmFits says why work that is not preemptible cannot be admitted: it
// would run on borrowed capacity, which its owner could then not reclaim.
func (p *poolRun) firmFits(t *teamRun, demand []int64) string {
	for i, q := range demand {
		if q > 0 && t.firm[i]+q > t.q.nominal[i] {
			return "team quota exhausted for " + p.info.resources[i] +
				" for work that is not preemptible; only preemptible work borrows"
		}
	}
	return ""
}

func (p *poolRun) initGuard() {
	for name, q := range p.info.quotas {
		if !q.guards {
			continue
		}
		for i := range p.guard {
			usage := int64(0)
			if t := p.teams[name]; t != nil {
				usage = t.usage[i]
			}
			p.guard[i] += max(0, q.guaranteed[i]-usage)
		}
	}
}

func (p *poolRun) ownGuard(t *teamRun, i int) int64 {
	if !t.q.guards {
		return 0
	}
	return max(0, t.q.guaranteed[i]-t.usage[i])
}

func (p *poolRun) addUsage(t *teamRun, demand []int64, sign int64) {
	for i, q := range demand {
		g := p.ownGuard(t, i)
		t.usage[i] += sign * q
		p.used[i] += sign * q
		p.guard[i] += p.ownGuard(t, i) - g
	}
	t.share = p.shareOf(t, t.usage)
}

// shareOf is t's weighted dominant share at usage: the largest fraction of
// any resource of the pool that t borrows above its nominal quota, divided
// by its weight. Teams within their quota share 0 (as in Kueue's fair
// sharing); without quotas this is plain weighted DRF.
func (p *poolRun) shareOf(t *teamRun, usage []int64) float64 {
	m := 0.0
	for i, c := range p.info.capacity {
		if c > 0 && usage[i] > t.q.nominal[i] {
			m = math.Max(m, float64(usage[i]-t.q.nominal[i])/float64(c))
		}
	}
	return m / t.weight
}

type block int

const (
	fits block = iota
	teamBlocked
	poolBlocked
)

// check says whether demand fits the team's quota and the pool, and if not
// why, in words.
func (p *poolRun) check(t *teamRun, demand []int64) (block, string) {
	for i, q := range demand {
		if q == 0 || t.q.limit[i] < 0 || t.usage[i]+t.held[i]+q <= t.q.limit[i] {
			continue
		}
		if t.usage[i]+q <= t.q.limit[i] {
			return teamBlocked, "team quota for " + p.info.resources[i] + " is held for an older starving workload of the team"
		}
		return teamBlocked, "team quota exhausted for " + p.info.resources[i] + "; borrowing limit reached"
	}
	for i, q := range demand {
		guard := p.guard[i] - p.ownGuard(t, i)
		free := p.info.capacity[i] - p.used[i] - guard
		if q == 0 || free-p.reservedAgainst(t, i) >= q {
			continue
		}
		r := p.info.resources[i]
		switch {
		case free >= q:
			return poolBlocked, "pool capacity for " + r + " is reserved for a starving workload"
		case p.info.capacity[i]-p.used[i] >= q:
			return poolBlocked, "idle " + r + " belongs to other teams' quota and may not be lent"
		case t.q.nominal[i] > 0 && t.usage[i]+q > t.q.nominal[i]:
			return poolBlocked, "team quota exhausted for " + r + "; no idle capacity to borrow"
		default:
			return poolBlocked, "pool capacity exhausted for " + r
		}
	}
	return fits, ""
}

// reservedAgainst is how much of the capacity held for starving workloads
// stands in t's way. A starving workload of another team can only ever be
// admitted outside t's unlendable idle nominal (t's guard), so what is held
// for it counts against t only up to the shared idle capacity, never
// against t's guard. When t holds capacity for starving work of its own,
// that work may need t's guard, and all of it counts.
func (p *poolRun) reservedAgainst(t *teamRun, i int) int64 {
	if !t.q.guards || p.reserved[i] == 0 || p.holds(t) {
		return p.reserved[i]
	}
	shared := p.info.capacity[i] - p.used[i] - p.guard[i]
	return min(p.reserved[i], max(0, shared))
}

func (p *poolRun) holds(t *teamRun) bool {
	for _, h := range t.held {
		if h > 0 {
			return true
		}
	}
	return false
}

const eps = 1e-9

// teamHeap orders teams by weighted dominant share, then teams whose next
// workload fits their nominal quota before teams whose next would borrow,
// then by the age of their next workload, then by name.
type teamHeap []*teamRun

func (h teamHeap) Len() int { return len(h) }

func (h teamHeap) Less(i, j int) bool {
	a, b := h[i], h[j]
	if math.Abs(a.share-b.share) > eps {
		return a.share < b.share
	}
	if ba, bb := a.borrows(), b.borrows(); ba != bb {
		return bb // else a pass may lend what a team within quota then reclaims by preemption
	}
	ha, hb := a.head(), b.head()
	if !ha.Equal(hb) {
		return ha.Before(hb)
	}
	return a.name < b.name
}

func (h teamHeap) Swap(i, j int) {
	h[i], h[j] = h[j], h[i]
	h[i].idx, h[j].idx = i, j
}

func (h *teamHeap) Push(x any) {
	t := x.(*teamRun)
	t.idx = len(*h)
	*h = append(*h, t)
}

func (h *teamHeap) Pop() any {
	old := *h
	t := old[len(old)-1]
	t.idx = -1
	*h = old[:len(old)-1]
	return t
}

// borrows says whether admitting t's next workload would take t above its
// nominal quota.
func (t *teamRun) borrows() bool {
	if t.next >= len(t.queue) {
		return false
	}
	for i, q := range t.queue[t.next].e.demand {
		if q > 0 && t.usage[i]+q > t.q.nominal[i] {
			return true
		}
	}
	return false
}

func (t *teamRun) head() time.Time {
	if t.next >= len(t.queue) {
		return time.Time{}
	}
	return t.queue[t.next].e.w.SubmittedAt
}
