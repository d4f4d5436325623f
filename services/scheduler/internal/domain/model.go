package domain

import (
	"fmt"
	"time"
)

// Kind says what holds an admission and until when.
type Kind string

const (
	// KindEnvironment holds its admission until teardown.
	KindEnvironment Kind = "environment"
	// KindJob holds its admission until it finishes or times out.
	KindJob Kind = "job"
)

// Pool is shared capacity, e.g. {cpu: 9000, memory: 18432, ops: 4}.
type Pool struct {
	Name     string
	Capacity Vector
}

// NewPool validates a pool.
func NewPool(name string, capacity Vector) (Pool, error) {
	if name == "" {
		return Pool{}, fieldErr("name", ErrRequired, "")
	}
	if len(capacity) == 0 {
		return Pool{}, fieldErr("capacity", ErrRequired, "")
	}
	if err := capacity.validate("capacity", true); err != nil {
		return Pool{}, err
	}
	return Pool{Name: name, Capacity: capacity.Clone()}, nil
}

// Team is a tenant of the pools. All maps are keyed by pool name.
//
// Nominal is the quota guaranteed to the team. BorrowingLimit caps how far
// above Nominal the team may go on idle capacity; a pool or resource absent
// from it means no cap. LendingLimit caps how much of the team's idle
// Nominal others may borrow; absent means all of it.
type Team struct {
	Name           string
	Weight         float64
	Nominal        map[string]Vector
	BorrowingLimit map[string]Vector
	LendingLimit   map[string]Vector
}

// NewTeam validates a team. A zero weight defaults to 1.
func NewTeam(t Team) (Team, error) {
	if t.Name == "" {
		return Team{}, fieldErr("name", ErrRequired, "")
	}
	if t.Weight < 0 {
		return Team{}, fieldErr("weight", ErrInvalid, "must be positive")
	}
	if t.Weight == 0 {
		t.Weight = 1
	}
	for field, m := range map[string]map[string]Vector{
		"nominal": t.Nominal, "borrowingLimit": t.BorrowingLimit, "lendingLimit": t.LendingLimit,
	} {
		for pool, v := range m {
			if err := v.validate(field+"."+pool, false); err != nil {
				return Team{}, err
			}
		}
	}
	return t, nil
}

// Workload is a unit of admission: a job or an environment.
type Workload struct {
	ID          string
	Team        string
	Pool        string
	Demand      Vector
	Priority    int // higher first within a team
	DependsOn   []string
	Preemptible bool
	MinRuntime  time.Duration // never preempted before it has run this long
	MaxRuntime  time.Duration // a job's timeout; zero means none
	Kind        Kind
	SubmittedAt time.Time
}

// NewWorkload checks what can be checked without the state: required
// fields, the demand's sign and the runtimes. State.Submit checks the rest.
func NewWorkload(w Workload) (Workload, error) {
	for _, f := range []struct{ name, value string }{{"id", w.ID}, {"team", w.Team}, {"pool", w.Pool}} {
		if f.value == "" {
			return Workload{}, fieldErr(f.name, ErrRequired, "")
		}
	}
	if w.Kind != KindJob && w.Kind != KindEnvironment {
		return Workload{}, fieldErr("kind", ErrInvalid, fmt.Sprintf("%q is neither job nor environment", w.Kind))
	}
	if err := w.Demand.validate("demand", true); err != nil {
		return Workload{}, err
	}
	if w.MinRuntime < 0 {
		return Workload{}, fieldErr("minRuntime", ErrInvalid, "negative")
	}
	if w.MaxRuntime < 0 || (w.MaxRuntime > 0 && w.MaxRuntime < w.MinRuntime) {
		return Workload{}, fieldErr("maxRuntime", ErrInvalid, "negative or below minRuntime")
	}
	for i, dep := range w.DependsOn {
		if dep == w.ID {
			return Workload{}, fieldErr(fmt.Sprintf("dependsOn[%d]", i), ErrDependencyCycle, w.ID+" -> "+w.ID)
		}
	}
	w.Demand = w.Demand.Clone()
	w.DependsOn = append([]string(nil), w.DependsOn...)
	return w, nil
}
