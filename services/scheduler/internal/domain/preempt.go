package domain

import (
	"container/heap"
	"fmt"
	"sort"
)

type pick struct {
	team *teamRun
	k    int
}

// preempt frees room for c by taking back borrowed, preemptible work that
// has run its minimum runtime. Two paths:
//
//   - reclaim: after admitting c its team is still within its nominal quota;
//   - fair share: the victim's team has a larger weighted dominant share
//     than c's team would have, and keeps at least that share afterwards.
//
// On both paths the victim's team stays at or above its nominal quota, and
// on the fair path shares only move towards each other, so the team
// preempted now can never preempt back.
func (p *poolRun) preempt(t *teamRun, c *cand) bool {
	if p.victims == 0 || t.preemptTried {
		return false
	}
	demand := c.e.demand
	need := make([]int64, len(demand))
	reclaim := true
	for i, q := range demand {
		need[i] = p.used[i] + p.reserved[i] + p.guard[i] - p.ownGuard(t, i) + q - p.info.capacity[i]
		if q > 0 && t.usage[i]+q > t.q.nominal[i] {
			reclaim = false
		}
	}
	after := append([]int64(nil), t.usage...)
	addTo(after, demand, 1)
	mine := p.shareOf(t, after)
	var picks []pick
	for _, u := range p.victimTeams(t) {
		if !reclaim && u.share <= mine+eps {
			break
		}
		left := append([]int64(nil), u.usage...)
		for k, v := range u.victims {
			if u.taken[k] || !p.canTake(u, left, v, need) {
				continue
			}
			freed := p.freedBy(u, left, v.demand)
			if !helps(freed, need) {
				continue
			}
			addTo(left, v.demand, -1)
			if !reclaim && p.shareOf(u, left) < mine-eps {
				addTo(left, v.demand, 1)
				continue
			}
			picks = append(picks, pick{team: u, k: k})
			addTo(need, freed, -1)
			if satisfied(need) {
				p.commit(t, c, picks, reclaim)
				return true
			}
		}
	}
	t.preemptTried = true
	return false
}

// freedBy is what taking demand from u's usage (left) frees for others:
// the demand, less what becomes u's unlendable idle nominal again.
func (p *poolRun) freedBy(u *teamRun, left, demand []int64) []int64 {
	freed := append([]int64(nil), demand...)
	if !u.q.guards {
		return freed
	}
	for i, q := range demand {
		before := max(0, u.q.guaranteed[i]-left[i])
		after := max(0, u.q.guaranteed[i]-(left[i]-q))
		freed[i] -= after - before
	}
	return freed
}

// canTake: v has run its minimum runtime, uses something c needs, and is
// part of what its team borrows: on some resource v uses, the team is above
// its nominal quota, and on every such resource it stays at or above it
// without v. Resources the team uses within its quota (memory beside
// borrowed cpu, say) may drop below it: the team can take those back
// whenever it wants.
func (p *poolRun) canTake(u *teamRun, left []int64, v *entry, need []int64) bool {
	if p.now.Sub(v.since) < v.w.MinRuntime {
		return false
	}
	borrowed := false
	for i, q := range v.demand {
		if q == 0 || left[i] <= u.q.nominal[i] {
			continue
		}
		if left[i]-q < u.q.nominal[i] {
			return false
		}
		borrowed = true
	}
	return borrowed && helps(v.demand, need)
}

// helps: freed covers part of a resource still needed.
func helps(freed, need []int64) bool {
	for i, q := range freed {
		if q > 0 && need[i] > 0 {
			return true
		}
	}
	return false
}

func (p *poolRun) commit(t *teamRun, c *cand, picks []pick, reclaim bool) {
	why := "team %s is below its fair share and workload %s needs the capacity"
	if reclaim {
		why = "team %s reclaims its nominal quota for workload %s"
	}
	for _, pk := range picks {
		u, v := pk.team, pk.team.victims[pk.k]
		u.taken[pk.k] = true
		p.victims--
		p.addUsage(u, v.demand, -1)
		if u.idx >= 0 {
			heap.Fix(&p.heap, u.idx)
		}
		p.d.Preempt = append(p.d.Preempt, Preemption{ID: v.w.ID, By: c.e.w.ID,
			Reason: fmt.Sprintf(why, t.name, c.e.w.ID)})
	}
}

// victimTeams lists other teams with preemptible work, largest share first.
func (p *poolRun) victimTeams(t *teamRun) []*teamRun {
	var out []*teamRun
	for _, u := range p.order {
		if u != t && len(u.victims) > 0 {
			out = append(out, u)
		}
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].share > out[j].share+eps })
	return out
}

// sortVictims puts the cheapest victim first: lowest priority, then the
// most recently admitted.
func sortVictims(vs []*entry) {
	sort.Slice(vs, func(i, j int) bool {
		a, b := vs[i], vs[j]
		if a.w.Priority != b.w.Priority {
			return a.w.Priority < b.w.Priority
		}
		if !a.since.Equal(b.since) {
			return a.since.After(b.since)
		}
		return a.w.ID > b.w.ID
	})
}

func satisfied(need []int64) bool {
	for _, n := range need {
		if n > 0 {
			return false
		}
	}
	return true
}
