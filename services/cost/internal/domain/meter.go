package domain

import (
	"cmp"
	"slices"
	"time"
)

// Mark kinds of a resource's life.
const (
	MarkStart  = "start"
	MarkChange = "change"
	MarkStop   = "stop"
)

// Mark is one moment of a resource's life, keyed by the event that told it.
type Mark struct {
	ID   string    `json:"id"`
	At   time.Time `json:"at"`
	Kind string    `json:"kind"`
	// Saga is the saga whose plan names the class from this mark on;
	// Compensation says the plan's previous class applies (an update
	// undone).
	Saga         string `json:"saga,omitempty"`
	Compensation bool   `json:"compensation,omitempty"`
}

// ResourceMeter is everything cost knows of one provisioned resource.
type ResourceMeter struct {
	ResourceID    string `json:"resource_id"`
	EnvironmentID string `json:"environment_id"`
	Driver        string `json:"driver"`
	Marks         []Mark `json:"marks"`
}

// AddMark records m; false when a mark with its id is already there.
func (r *ResourceMeter) AddMark(m Mark) bool {
	if slices.ContainsFunc(r.Marks, func(x Mark) bool { return x.ID == m.ID }) {
		return false
	}
	r.Marks = append(r.Marks, m)
	return true
}

var markOrder = map[string]int{MarkStart: 0, MarkChange: 1, MarkStop: 2}

// sortedMarks orders marks by time, then start < change < stop, then id:
// the same set of marks always gives the same history.
func sortedMarks(ms []Mark) []Mark {
	out := slices.Clone(ms)
	slices.SortFunc(out, func(a, b Mark) int {
		return cmp.Or(a.At.Compare(b.At), cmp.Compare(markOrder[a.Kind], markOrder[b.Kind]), cmp.Compare(a.ID, b.ID))
	})
	return out
}

// PlannedResource is a resource a cost check named.
type PlannedResource struct {
	ID     string `json:"id"`
	Name   string `json:"name"`
	Driver string `json:"driver"`
	Class  string `json:"class"`
}

// Plan is what a saga's cost check named.
type Plan struct {
	SagaID        string            `json:"saga_id"`
	EnvironmentID string            `json:"environment_id"`
	Team          string            `json:"team"`
	Operation     string            `json:"operation"`
	Resources     []PlannedResource `json:"resources"`
	Previous      []PlannedResource `json:"previous,omitempty"`
	At            time.Time         `json:"at"`
	// Decision is the gate's answer to the plan (empty in plans recorded
	// before the gate kept it, which count as allowed).
	Decision string `json:"decision,omitempty"`
}

// Allowed says the gate let the plan go on: only then does it commit
// budget while its environment is being built.
func (p Plan) Allowed() bool { return p.Decision == "" || p.Decision == DecisionAllowed }

// class is the class the plan gives resource id; previous for an undone
// update.
func (p Plan) class(id string, previous bool) (PlannedResource, bool) {
	list := p.Resources
	if previous {
		list = p.Previous
	}
	i := slices.IndexFunc(list, func(r PlannedResource) bool { return r.ID == id })
	if i < 0 {
		return PlannedResource{}, false
	}
	return list[i], true
}

// Environment is what lifecycle's transition events say of an environment.
type Environment struct {
	ID       string `json:"id"`
	Team     string `json:"team"`
	Name     string `json:"name"`
	Template string `json:"template"`
	Version  string `json:"version"`
	Stage    string `json:"stage"`
	// State is the latest state that changed what cost reads: a move
	// within the pending states, or within the others, is not stored
	// (see Covers).
	State string `json:"state"`
	Seq   int    `json:"seq"`
	// At is when it entered State.
	At time.Time `json:"at,omitzero"`
}

// Pending says an environment is on its way to being built: its plan
// still commits budget.
func (e Environment) Pending() bool {
	return e.State == "requested" || e.State == "queued" || e.State == "provisioning"
}

// finished says the environment ended; At then starts its retention.
func (e Environment) finished() bool { return e.State == "deleted" || e.State == "failed" }

// Covers says whether e already holds everything cost reads of next, a
// later transition of the same environment: the same facts, and a state
// of the same kind, pending or neither pending nor finished (cost reads
// no more of the state, and At only of a finished one). Such a
// transition need not be stored; a finished state always is.
func (e Environment) Covers(next Environment) bool {
	if e.ID != next.ID || e.Team != next.Team || e.Name != next.Name || e.Template != next.Template ||
		e.Version != next.Version || e.Stage != next.Stage {
		return false
	}
	if e.finished() || next.finished() {
		return false
	}
	return e.Pending() == next.Pending()
}

// JobMeter is everything cost knows of one job workload.
type JobMeter struct {
	WorkloadID string            `json:"workload_id"`
	Team       string            `json:"team,omitempty"`
	Pool       string            `json:"pool,omitempty"`
	Kind       string            `json:"kind,omitempty"`
	Labels     map[string]string `json:"labels,omitempty"`
	// Runs are keyed by admission number.
	Runs map[int]JobRun `json:"runs,omitempty"`
}

// JobRun is one admission of a job: its demand and when its process ran.
type JobRun struct {
	Demand map[string]int64 `json:"demand,omitempty"`
	Start  time.Time        `json:"start,omitzero"`
	End    time.Time        `json:"end,omitzero"`
}

// Run returns admission n's run, creating it.
func (j *JobMeter) Run(n int) JobRun {
	if j.Runs == nil {
		j.Runs = map[int]JobRun{}
	}
	return j.Runs[n]
}

// Snapshot is the whole of the cost service's meters at one moment.
type Snapshot struct {
	Resources    map[string]ResourceMeter
	Jobs         map[string]JobMeter
	Plans        map[string]Plan
	Environments map[string]Environment
}

// NewSnapshot is an empty snapshot.
func NewSnapshot() Snapshot {
	return Snapshot{Resources: map[string]ResourceMeter{}, Jobs: map[string]JobMeter{},
		Plans: map[string]Plan{}, Environments: map[string]Environment{}}
}
