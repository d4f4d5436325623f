package domain

import (
	"fmt"
	"sort"
	"time"
)

// The service keeps its state as a log of events and rebuilds it by
// replaying them; these methods apply one event each. Apply (one pass's
// decisions) is the same thing in bulk.

// Admit records that a queued workload was admitted at.
func (s *State) Admit(id string, at time.Time) error {
	return s.Apply(Decisions{Admit: []string{id}}, at)
}

// Preempt sends an admitted workload back to the queue, waiting from at.
// The service also uses it when it reclaims the admission of a job whose
// runner disappeared.
func (s *State) Preempt(id string, at time.Time) error {
	return s.Apply(Decisions{Preempt: []Preemption{{ID: id}}}, at)
}

// Shrink lowers an admitted workload's demand by release, e.g. an
// environment giving back its provisioning operation once it is ready.
// Quantities never go below zero.
func (s *State) Shrink(id string, release Vector) (Vector, error) {
	e, ok := s.admitted[id]
	if !ok {
		return nil, fmt.Errorf("shrink %s: %w", id, ErrUnknownWorkload)
	}
	if err := release.validate("release", false); err != nil {
		return nil, err
	}
	p := s.pools[e.w.Pool]
	next := e.w.Demand.Clone()
	for r, q := range release {
		if _, ok := next[r]; ok {
			next[r] = max(0, next[r]-q)
		}
	}
	demand, _ := dense(next, p.resources)
	e.w.Demand, e.demand = next, demand
	return next.Clone(), nil
}

// WorkloadInfo is what the state knows about one workload.
type WorkloadInfo struct {
	Workload Workload
	Status   Status
	// Since is when it was queued (or re-queued) or admitted.
	Since time.Time
}

// Workload returns a queued or admitted workload.
func (s *State) Workload(id string) (WorkloadInfo, bool) {
	if e := s.queued[id]; e != nil {
		return WorkloadInfo{Workload: e.w, Status: StatusQueued, Since: e.since}, true
	}
	if e := s.admitted[id]; e != nil {
		return WorkloadInfo{Workload: e.w, Status: StatusAdmitted, Since: e.since}, true
	}
	return WorkloadInfo{}, false
}

// Position is a queued workload's place in its team's queue for its pool
// (1 is next), in the order the scheduler serves it: priority, then age.
func (s *State) Position(id string) int {
	e := s.queued[id]
	if e == nil {
		return 0
	}
	pos := 1
	for _, o := range s.queued {
		if o != e && o.w.Pool == e.w.Pool && o.w.Team == e.w.Team && queueLess(&cand{e: o}, &cand{e: e}) {
			pos++
		}
	}
	return pos
}

// Queued lists the queued workloads, by ID.
func (s *State) Queued() []Workload {
	out := make([]Workload, 0, len(s.queued))
	for _, e := range s.queued {
		out = append(out, e.w)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	return out
}

// Pools lists the pools by name.
func (s *State) Pools() []Pool {
	out := make([]Pool, 0, len(s.poolNames))
	for _, n := range s.poolNames {
		out = append(out, s.pools[n].pool)
	}
	return out
}

// Teams lists the teams by name.
func (s *State) Teams() []Team {
	out := make([]Team, 0, len(s.teamNames))
	for _, n := range s.teamNames {
		out = append(out, *s.teams[n])
	}
	return out
}

// Team returns a team by name.
func (s *State) Team(name string) (Team, bool) {
	t, ok := s.teams[name]
	if !ok {
		return Team{}, false
	}
	return *t, true
}

// Usage is the sum of the admitted demand per pool and team.
func (s *State) Usage() map[string]map[string]Vector {
	out := map[string]map[string]Vector{}
	for _, e := range s.admitted {
		byTeam := out[e.w.Pool]
		if byTeam == nil {
			byTeam = map[string]Vector{}
			out[e.w.Pool] = byTeam
		}
		v := byTeam[e.w.Team]
		if v == nil {
			v = Vector{}
			byTeam[e.w.Team] = v
		}
		for r, q := range e.w.Demand {
			v[r] += q
		}
	}
	return out
}

// SetPool adds a pool or changes its capacity. A change that would leave
// a queued or admitted workload asking for a resource the pool no longer
// has, or for more than its capacity, is refused: nothing accepted is
// stranded.
func (s *State) SetPool(p Pool) error {
	p, err := NewPool(p.Name, p.Capacity)
	if err != nil {
		return err
	}
	res := p.Capacity.Names()
	capacity, _ := dense(p.Capacity, res)
	for _, m := range []map[string]*entry{s.queued, s.admitted} {
		for _, e := range m {
			if e.w.Pool != p.Name {
				continue
			}
			for _, r := range e.w.Demand.Names() {
				if q := e.w.Demand[r]; q > p.Capacity[r] {
					return fieldErr("capacity."+r, ErrInvalid,
						fmt.Sprintf("workload %s asks for %d; the pool would have %d", e.w.ID, q, p.Capacity[r]))
				}
			}
		}
	}
	info := &poolInfo{pool: p, resources: res, capacity: capacity, quotas: map[string]*quota{}}
	old, existed := s.pools[p.Name]
	s.pools[p.Name] = info
	for _, name := range s.teamNames {
		if err := s.addQuotas(s.teams[name]); err != nil {
			if existed {
				s.pools[p.Name] = old
			} else {
				delete(s.pools, p.Name)
			}
			_ = s.restoreQuotas()
			return fmt.Errorf("team %s: %w", name, err)
		}
	}
	for _, m := range []map[string]*entry{s.queued, s.admitted} {
		for _, e := range m {
			if e.w.Pool == p.Name {
				e.demand, _ = dense(e.w.Demand, res)
			}
		}
	}
	if !existed {
		s.poolNames = append(s.poolNames, p.Name)
		sort.Strings(s.poolNames)
	}
	return nil
}

func (s *State) restoreQuotas() error {
	for _, name := range s.teamNames {
		if err := s.addQuotas(s.teams[name]); err != nil {
			return err
		}
	}
	return nil
}

// SetTeam adds a team or changes its weight and quotas.
func (s *State) SetTeam(t Team) error {
	t, err := NewTeam(t)
	if err != nil {
		return err
	}
	if err := s.addQuotas(&t); err != nil {
		if old, ok := s.teams[t.Name]; ok {
			_ = s.addQuotas(old)
		}
		return err
	}
	if _, ok := s.teams[t.Name]; !ok {
		s.teamNames = append(s.teamNames, t.Name)
		sort.Strings(s.teamNames)
	}
	s.teams[t.Name] = &t
	return nil
}
