package domain

import (
	"container/heap"
	"fmt"
	"sort"
	"time"
)

// Decisions is what one scheduling pass wants done. Admissions made
// possible by a preemption appear in the same pass: the executor stops the
// victims before it starts the preemptor.
type Decisions struct {
	Admit   []string
	Preempt []Preemption
	Cancel  []Cancellation
	Waiting []Wait // one per workload left queued, in no particular order
}

// Preemption sends an admitted workload back to the queue.
type Preemption struct{ ID, By, Reason string }

// Cancellation ends a queued workload whose parent failed or was cancelled.
type Cancellation struct{ ID, Reason string }

// Wait says, in words, why a queued workload was not admitted.
type Wait struct{ ID, Reason string }

// Schedule decides, from the state alone, what to admit, preempt and
// cancel at now, and why everything else waits. It does not change s.
func Schedule(s *State, now time.Time) Decisions {
	d := &Decisions{}
	runs := make(map[string]*poolRun, len(s.pools))
	for _, name := range s.poolNames {
		runs[name] = &poolRun{info: s.pools[name], teamsByName: s.teams, cfg: s.cfg, now: now, d: d,
			used: make([]int64, len(s.pools[name].resources)), reserved: make([]int64, len(s.pools[name].resources)),
			guard: make([]int64, len(s.pools[name].resources)), teams: map[string]*teamRun{}}
	}
	for _, e := range s.admitted {
		runs[e.w.Pool].load(e)
	}
	s.classify(runs, now, d)
	for _, name := range s.poolNames {
		runs[name].run()
	}
	sort.Slice(d.Cancel, func(i, j int) bool { return d.Cancel[i].ID < d.Cancel[j].ID })
	return *d
}

// cand is a queued workload whose parents have all finished; ready is
// when it became eligible, the start of its wait.
type cand struct {
	e        *entry
	ready    time.Time
	starving bool // eligible for at least StarvationAfter
}

// classify settles dependencies: cancel, wait for a parent, or hand the
// workload to its pool as starving or as an ordinary candidate.
func (s *State) classify(runs map[string]*poolRun, now time.Time, d *Decisions) {
	memo := map[string]string{}
	cands := make([]cand, 0, len(s.queued))
	for _, e := range s.queued {
		ready, why, cancel := s.readiness(e, memo)
		switch {
		case cancel:
			d.Cancel = append(d.Cancel, Cancellation{ID: e.w.ID, Reason: why})
		case why != "":
			d.Waiting = append(d.Waiting, Wait{ID: e.w.ID, Reason: why})
		default:
			p := runs[e.w.Pool]
			cands = append(cands, cand{e: e, ready: ready,
				starving: p.cfg.StarvationAfter > 0 && now.Sub(ready) >= p.cfg.StarvationAfter})
			t := p.team(e.w.Team)
			t.queue = append(t.queue, &cands[len(cands)-1])
		}
	}
}

func (s *State) readiness(e *entry, memo map[string]string) (ready time.Time, why string, cancel bool) {
	for _, dep := range e.w.DependsOn {
		if cause := s.cancelCause(dep, memo); cause != "" {
			return ready, "cancelled: dependency " + dep + " " + cause, true
		}
	}
	ready = e.since
	for _, dep := range e.w.DependsOn {
		at, ok := s.finished[dep]
		if !ok {
			return ready, "waiting for dependency " + dep + " to finish", false
		}
		if at.After(ready) {
			ready = at
		}
	}
	return ready, "", false
}

// cancelCause is non-empty when id failed or is about to be cancelled.
func (s *State) cancelCause(id string, memo map[string]string) string {
	if r, ok := s.failed[id]; ok {
		return "failed: " + r
	}
	e := s.queued[id]
	if e == nil || len(e.w.DependsOn) == 0 {
		return ""
	}
	if c, ok := memo[id]; ok {
		return c
	}
	memo[id] = ""
	for _, dep := range e.w.DependsOn {
		if s.cancelCause(dep, memo) != "" {
			memo[id] = "is cancelled"
			break
		}
	}
	return memo[id]
}

// run serves the pool's teams in weighted dominant-share order.
func (p *poolRun) run() {
	p.order = make([]*teamRun, 0, len(p.teams))
	for _, t := range p.teams {
		p.order = append(p.order, t)
	}
	sort.Slice(p.order, func(i, j int) bool { return p.order[i].name < p.order[j].name })
	p.initGuard()
	for _, t := range p.order {
		t.share = p.shareOf(t, t.usage)
		sortVictims(t.victims)
		t.taken = make([]bool, len(t.victims))
	}
	p.serveFair()
}

func (p *poolRun) serveFair() {
	h := &p.heap
	for _, t := range p.order {
		if len(t.queue) > 0 {
			sort.Slice(t.queue, func(i, j int) bool { return teamQueueLess(t.queue[i], t.queue[j]) })
			t.idx = len(*h)
			*h = append(*h, t)
		}
	}
	heap.Init(h)
	for h.Len() > 0 {
		t := (*h)[0]
		c := t.queue[t.next]
		t.next++
		if why := p.tryAdmit(t, c); why != "" {
			p.block(t, c, why)
		}
		if t.next == len(t.queue) {
			heap.Remove(h, t.idx)
		} else {
			heap.Fix(h, t.idx)
		}
	}
}

// tryAdmit admits c, preempting borrowed work if that is allowed, or says
// why it cannot.
func (p *poolRun) tryAdmit(t *teamRun, c *cand) string {
	if p.cfg.EnforceQuotas && !c.e.w.Preemptible {
		if why := p.firmFits(t, c.e.demand); why != "" {
			return why
		}
	}
	b, why := p.check(t, c.e.demand)
	if b == poolBlocked && p.preempt(t, c) {
		b, why = p.check(t, c.e.demand)
	}
	if b != fits {
		return why
	}
	p.addUsage(t, c.e.demand, 1)
	if !c.e.w.Preemptible {
		addTo(t.firm, c.e.demand, 1)
	}
	p.d.Admit = append(p.d.Admit, c.e.w.ID)
	return ""
}

// block records why c waits. When c is the first starving workload of its
// team, the pool and the team hold its demand: nothing served after it in
// this pass — teams with a larger share, and its own team's later work —
// may take what it needs, so a stream of small workloads cannot keep it
// out. Teams with a smaller share were served before it and are not held
// back, which keeps the order fair while it waits.
func (p *poolRun) block(t *teamRun, c *cand, why string) {
	if !c.starving || t.holding {
		p.wait(c, why)
		return
	}
	t.holding = true
	addTo(p.reserved, c.e.demand, 1)
	addTo(t.held, c.e.demand, 1)
	p.wait(c, fmt.Sprintf("waiting for %s, past the starvation bound; capacity is held for it (%s)",
		p.now.Sub(c.ready), why))
}

func (p *poolRun) wait(c *cand, why string) {
	p.d.Waiting = append(p.d.Waiting, Wait{ID: c.e.w.ID, Reason: why})
}

// teamQueueLess orders a team's queue: starving workloads first, longest
// waiting first, then the rest by queueLess.
func teamQueueLess(a, b *cand) bool {
	if a.starving != b.starving {
		return a.starving
	}
	if a.starving && !a.ready.Equal(b.ready) {
		return a.ready.Before(b.ready)
	}
	return queueLess(a, b)
}

// queueLess orders a team's queue: higher priority, then older, then ID.
func queueLess(a, b *cand) bool {
	if a.e.w.Priority != b.e.w.Priority {
		return a.e.w.Priority > b.e.w.Priority
	}
	if !a.e.w.SubmittedAt.Equal(b.e.w.SubmittedAt) {
		return a.e.w.SubmittedAt.Before(b.e.w.SubmittedAt)
	}
	return a.e.w.ID < b.e.w.ID
}
