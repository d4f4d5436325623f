package sim

import (
	"container/heap"
	"sort"
	"time"

	"github.com/pave-platform/pave/services/scheduler/internal/domain"
)

// poolView is the simulator's own account of a pool, kept from the
// decisions it applied, so samples need nothing from the core but its
// exported API.
type poolView struct {
	pool  domain.Pool
	used  domain.Vector
	teams map[string]*teamView
	names []string
}

type teamView struct {
	weight  float64
	nominal domain.Vector
	usage   domain.Vector
	backlog int
}

func newPoolViews(pools []domain.Pool, teams []domain.Team) (map[string]*poolView, []string) {
	views := make(map[string]*poolView, len(pools))
	names := make([]string, 0, len(pools))
	for _, p := range pools {
		v := &poolView{pool: p, used: domain.Vector{}, teams: map[string]*teamView{}}
		for _, t := range teams {
			w := t.Weight
			if w == 0 {
				w = 1 // as domain.NewTeam defaults it
			}
			v.teams[t.Name] = &teamView{weight: w, nominal: t.Nominal[p.Name], usage: domain.Vector{}}
			v.names = append(v.names, t.Name)
		}
		sort.Strings(v.names)
		views[p.Name] = v
		names = append(names, p.Name)
	}
	sort.Strings(names)
	return views, names
}

func (p *poolView) add(team string, demand domain.Vector, sign int64) {
	t := p.teams[team]
	for r, q := range demand {
		t.usage[r] += sign * q
		p.used[r] += sign * q
	}
}

// share mirrors the core's weighted dominant share: usage above nominal
// over capacity, the largest such fraction, divided by the weight.
func (p *poolView) share(t *teamView) float64 {
	m := 0.0
	for r, c := range p.pool.Capacity {
		if over := t.usage[r] - t.nominal[r]; c > 0 && over > 0 {
			m = max(m, float64(over)/float64(c))
		}
	}
	return m / t.weight
}

func (p *poolView) sample(at time.Time) Sample {
	out := Sample{At: at, Pool: p.pool.Name, Used: p.used.Clone(), Teams: make([]TeamSample, 0, len(p.names))}
	for _, name := range p.names {
		t := p.teams[name]
		out.Teams = append(out.Teams, TeamSample{Team: name, Usage: t.usage.Clone(), Share: p.share(t), Backlog: t.backlog})
	}
	return out
}

// sampleBefore records every sample due before t; the state has not
// changed since the last batch.
func (s *Sim) sampleBefore(t time.Time) {
	if s.cfg.SampleEvery <= 0 {
		return
	}
	for ; s.nextSample.Before(t); s.nextSample = s.nextSample.Add(s.cfg.SampleEvery) {
		for _, name := range s.poolNames {
			s.samples = append(s.samples, s.pools[name].sample(s.nextSample))
		}
	}
}

// Usage is a team's admitted demand in a pool.
func (s *Sim) Usage(pool, team string) domain.Vector {
	return s.pools[pool].teams[team].usage.Clone()
}

// Share is a team's weighted dominant share in a pool.
func (s *Sim) Share(pool, team string) float64 {
	p := s.pools[pool]
	return p.share(p.teams[team])
}

// event is an arrival, or the end of a job's runtime for the admission
// numbered epoch.
type event struct {
	at      time.Time
	seq     int
	id      string
	arrival bool
	epoch   int
}

// eventQueue orders events by time, then by the order they were pushed.
type eventQueue struct {
	items []event
	seq   int
}

func (q *eventQueue) push(e event) {
	q.seq++
	e.seq = q.seq
	heap.Push((*eventHeap)(&q.items), e)
}

func (q *eventQueue) pop() event  { return heap.Pop((*eventHeap)(&q.items)).(event) }
func (q *eventQueue) peek() event { return q.items[0] }
func (q *eventQueue) Len() int    { return len(q.items) }
func (h eventHeap) Len() int      { return len(h) }
func (h eventHeap) Swap(i, j int) { h[i], h[j] = h[j], h[i] }
func (h *eventHeap) Push(x any)   { *h = append(*h, x.(event)) }
func (h eventHeap) Less(i, j int) bool {
	if !h[i].at.Equal(h[j].at) {
		return h[i].at.Before(h[j].at)
	}
	return h[i].seq < h[j].seq
}

func (h *eventHeap) Pop() any {
	old := *h
	e := old[len(old)-1]
	*h = old[:len(old)-1]
	return e
}

type eventHeap []event
