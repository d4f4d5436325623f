package domain

import (
	"fmt"
	"sort"
	"time"
)

// Config tunes the decision core.
type Config struct {
	// StarvationAfter is how long an eligible workload may wait before the
	// scheduler reserves capacity for it ahead of fair-share order. Zero
	// disables reservations.
	StarvationAfter time.Duration
	// EnforceQuotas makes every submitter keep to its team's quota (issue
	// 16): a workload needs quota in its pool, its demand may not pass
	// nominal + borrowing limit, and only preemptible work borrows, at
	// submit and at admission. Off, teams without quotas share the pools
	// by plain weighted DRF (the simulations).
	EnforceQuotas bool
}

// Status is where a workload is in its life.
type Status string

// Workload statuses.
const (
	StatusUnknown  Status = ""
	StatusQueued   Status = "queued"
	StatusAdmitted Status = "admitted"
	StatusFinished Status = "finished"
	StatusFailed   Status = "failed" // failed, cancelled or timed out
)

// State is everything Schedule decides from. Only its methods change it;
// Schedule only reads it.
type State struct {
	cfg       Config
	pools     map[string]*poolInfo
	poolNames []string
	teams     map[string]*Team
	teamNames []string
	queued    map[string]*entry // since = queued since
	admitted  map[string]*entry // since = admitted at
	finished  map[string]time.Time
	failed    map[string]string // reason
}

type entry struct {
	w      Workload
	since  time.Time
	demand []int64 // along the pool's resources
}

type poolInfo struct {
	pool      Pool
	resources []string
	capacity  []int64
	quotas    map[string]*quota // by team name
}

// quota is a team's standing in one pool, laid out along its resources.
type quota struct {
	nominal    []int64
	limit      []int64 // nominal + borrowing limit; -1 means no cap
	guaranteed []int64 // nominal that may not be lent
	guards     bool
}

// NewState validates pools and teams together.
func NewState(cfg Config, pools []Pool, teams []Team) (*State, error) {
	s := &State{cfg: cfg, pools: map[string]*poolInfo{}, teams: map[string]*Team{},
		queued: map[string]*entry{}, admitted: map[string]*entry{},
		finished: map[string]time.Time{}, failed: map[string]string{}}
	for i, p := range pools {
		p, err := NewPool(p.Name, p.Capacity)
		if err != nil {
			return nil, fmt.Errorf("pools[%d]: %w", i, err)
		}
		res := p.Capacity.Names()
		capacity, _ := dense(p.Capacity, res)
		s.pools[p.Name] = &poolInfo{pool: p, resources: res, capacity: capacity, quotas: map[string]*quota{}}
		s.poolNames = append(s.poolNames, p.Name)
	}
	for i, t := range teams {
		t, err := NewTeam(t)
		if err != nil {
			return nil, fmt.Errorf("teams[%d]: %w", i, err)
		}
		if err := s.addQuotas(&t); err != nil {
			return nil, fmt.Errorf("teams[%d]: %w", i, err)
		}
		s.teams[t.Name] = &t
		s.teamNames = append(s.teamNames, t.Name)
	}
	sort.Strings(s.poolNames)
	sort.Strings(s.teamNames)
	return s, nil
}

func (s *State) addQuotas(t *Team) error {
	for field, m := range map[string]map[string]Vector{
		"nominal": t.Nominal, "borrowingLimit": t.BorrowingLimit, "lendingLimit": t.LendingLimit,
	} {
		for pool := range m {
			if _, ok := s.pools[pool]; !ok {
				return fieldErr(field+"."+pool, ErrUnknownPool, "")
			}
		}
	}
	for _, name := range s.sortedPools() {
		p := s.pools[name]
		nominal, missing := dense(t.Nominal[name], p.resources)
		if missing != "" {
			return fieldErr("nominal."+name+"."+missing, ErrInvalid, "the pool has no such resource")
		}
		q := &quota{nominal: nominal, limit: make([]int64, len(nominal)), guaranteed: make([]int64, len(nominal))}
		for i, r := range p.resources {
			q.limit[i] = -1
			if b, ok := t.BorrowingLimit[name][r]; ok {
				q.limit[i] = nominal[i] + b
			}
			if l, ok := t.LendingLimit[name][r]; ok && l < nominal[i] {
				q.guaranteed[i], q.guards = nominal[i]-l, true
			}
		}
		p.quotas[t.Name] = q
	}
	return nil
}

func (s *State) sortedPools() []string {
	names := make([]string, 0, len(s.pools))
	for n := range s.pools {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

// Submit validates a batch of workloads and queues all of them, or none.
// Dependencies may point at known workloads or at others in the batch.
func (s *State) Submit(ws ...Workload) error {
	inBatch := make(map[string]bool, len(ws))
	for _, w := range ws {
		inBatch[w.ID] = true
	}
	batch := make(map[string]*entry, len(ws))
	for _, w := range ws {
		e, err := s.validate(w, batch, inBatch)
		if err != nil {
			return fmt.Errorf("submit %s: %w", w.ID, err)
		}
		batch[w.ID] = e
	}
	if err := checkCycles(batch); err != nil {
		return err
	}
	for id, e := range batch {
		s.queued[id] = e
	}
	return nil
}

func (s *State) validate(w Workload, batch map[string]*entry, inBatch map[string]bool) (*entry, error) {
	w, err := NewWorkload(w)
	if err != nil {
		return nil, err
	}
	if _, dup := batch[w.ID]; dup || s.Status(w.ID) != StatusUnknown {
		return nil, fieldErr("id", ErrDuplicateID, w.ID)
	}
	if _, ok := s.teams[w.Team]; !ok {
		return nil, fieldErr("team", ErrUnknownTeam, w.Team)
	}
	p, ok := s.pools[w.Pool]
	if !ok {
		return nil, fieldErr("pool", ErrUnknownPool, w.Pool)
	}
	demand, missing := dense(w.Demand, p.resources)
	if missing != "" {
		return nil, fieldErr("demand."+missing, ErrDemandExceedsPool, "the pool has none")
	}
	for i, q := range demand {
		if q > p.capacity[i] {
			return nil, fieldErr("demand."+p.resources[i], ErrDemandExceedsPool,
				fmt.Sprintf("%d > %d", q, p.capacity[i]))
		}
	}
	if s.cfg.EnforceQuotas {
		if err := withinQuota(w, s.teams[w.Team], p, demand); err != nil {
			return nil, err
		}
	}
	for i, dep := range w.DependsOn {
		if !inBatch[dep] && s.Status(dep) == StatusUnknown {
			return nil, fieldErr(fmt.Sprintf("dependsOn[%d]", i), ErrUnknownDependency, dep)
		}
	}
	return &entry{w: w, since: w.SubmittedAt, demand: demand}, nil
}

// checkCycles finds a cycle among the batch; known workloads cannot point
// at new ones, so a cycle can only live inside the batch.
func checkCycles(batch map[string]*entry) error {
	const (
		white = iota
		grey
		black
	)
	color := make(map[string]int, len(batch))
	var path []string
	var visit func(id string) error
	visit = func(id string) error {
		color[id] = grey
		path = append(path, id)
		for _, dep := range batch[id].w.DependsOn {
			if _, ok := batch[dep]; !ok {
				continue
			}
			switch color[dep] {
			case grey:
				return fieldErr("dependsOn", ErrDependencyCycle, cycleText(path, dep))
			case white:
				if err := visit(dep); err != nil {
					return err
				}
			}
		}
		color[id] = black
		path = path[:len(path)-1]
		return nil
	}
	ids := make([]string, 0, len(batch))
	for id := range batch {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	for _, id := range ids {
		if color[id] == white {
			if err := visit(id); err != nil {
				return fmt.Errorf("submit %s: %w", id, err)
			}
		}
	}
	return nil
}

func cycleText(path []string, back string) string {
	out := ""
	for i := len(path) - 1; i >= 0; i-- {
		out = path[i] + " -> " + out
		if path[i] == back {
			break
		}
	}
	return out + back
}

// withinQuota checks a workload against its team's quota in the pool: the
// team must have one (a positive nominal or borrowing limit), the demand
// may not pass nominal + borrowing limit, and what passes the nominal
// quota is borrowed, so only preemptible work may ask for it: borrowed
// capacity must be reclaimable when its owner wants it back.
func withinQuota(w Workload, t *Team, p *poolInfo, demand []int64) error {
	if !positive(t.Nominal[p.pool.Name]) && !positive(t.BorrowingLimit[p.pool.Name]) {
		return fieldErr("pool", ErrNoQuota, fmt.Sprintf("team %s, pool %s", t.Name, p.pool.Name))
	}
	q := p.quotas[t.Name]
	for i, d := range demand {
		r := p.resources[i]
		if q.limit[i] >= 0 && d > q.limit[i] {
			return fieldErr("demand."+r, ErrDemandExceedsQuota,
				fmt.Sprintf("%d > nominal %d + borrowing limit %d", d, q.nominal[i], q.limit[i]-q.nominal[i]))
		}
		if !w.Preemptible && d > q.nominal[i] {
			return fieldErr("demand."+r, ErrBorrowNotPreemptible,
				fmt.Sprintf("%d > nominal %d; submit it preemptible to borrow", d, q.nominal[i]))
		}
	}
	return nil
}

func positive(v Vector) bool {
	for _, q := range v {
		if q > 0 {
			return true
		}
	}
	return false
}
