package app

import (
	"sort"
	"time"

	"github.com/pave-platform/pave/pkg/events"
	"github.com/pave-platform/pave/services/scheduler/internal/domain"
)

// Workload states as the API shows them.
const (
	StateQueued    = "queued"
	StateAdmitted  = "admitted" // a job no runner has started yet, or an environment
	StateRunning   = "running"
	StateFinished  = OutcomeFinished
	StateFailed    = OutcomeFailed
	StateCancelled = OutcomeCancelled
	StateReleased  = OutcomeReleased
)

// View is a workload as the API shows it.
type View struct {
	ID          string            `json:"id"`
	Team        string            `json:"team"`
	Pool        string            `json:"pool"`
	Kind        string            `json:"kind"`
	State       string            `json:"state"`
	Reason      string            `json:"reason,omitempty"`
	Position    int               `json:"position,omitempty"`
	Demand      map[string]int64  `json:"demand"`
	Priority    int               `json:"priority"`
	DependsOn   []string          `json:"depends_on,omitempty"`
	Preemptible bool              `json:"preemptible"`
	MinRuntime  string            `json:"min_runtime,omitempty"`
	MaxRuntime  string            `json:"max_runtime,omitempty"`
	Job         *events.JobSpec   `json:"job,omitempty"`
	Labels      map[string]string `json:"labels,omitempty"`
	Admission   int               `json:"admission,omitempty"`
	Runner      string            `json:"runner,omitempty"`
	ExitCode    *int              `json:"exit_code,omitempty"`
	DurationMS  int64             `json:"duration_ms,omitempty"`
	Output      string            `json:"output,omitempty"`
	SubmittedBy string            `json:"submitted_by"`
	SubmittedAt time.Time         `json:"submitted_at"`
	AdmittedAt  *time.Time        `json:"admitted_at,omitempty"`
	StartedAt   *time.Time        `json:"started_at,omitempty"`
	EndedAt     *time.Time        `json:"ended_at,omitempty"`
}

func (c *Core) view(m *meta) View {
	v := View{ID: m.spec.ID, Team: m.spec.Team, Pool: m.spec.Pool, Kind: m.spec.Kind, Demand: m.spec.Demand,
		Priority: m.spec.Priority, DependsOn: m.spec.DependsOn, Preemptible: m.spec.Preemptible, Job: m.spec.Job,
		Labels: m.spec.Labels, Admission: m.admission, Runner: m.runner, ExitCode: m.exitCode,
		DurationMS: m.durationMS, Output: m.output, SubmittedBy: m.submittedBy, SubmittedAt: m.submittedAt,
		MinRuntime: ms(m.spec.MinRuntimeMS), MaxRuntime: ms(m.spec.MaxRuntimeMS),
		AdmittedAt: ptr(m.admittedAt), StartedAt: ptr(m.startedAt), EndedAt: ptr(m.endedAt)}
	if m.spec.Job != nil && len(m.spec.Job.Env) > 0 {
		// Environment values may be secrets: the API shows only the names.
		job := *m.spec.Job
		job.Env = make(map[string]string, len(m.spec.Job.Env))
		for k := range m.spec.Job.Env {
			job.Env[k] = "(set)"
		}
		v.Job = &job
	}
	if m.outcome != "" {
		v.State, v.Reason = m.outcome, m.reason
		return v
	}
	info, _ := c.state.Workload(m.spec.ID)
	v.Demand = map[string]int64(info.Workload.Demand)
	switch info.Status {
	case domain.StatusQueued:
		v.State, v.Reason, v.Position = StateQueued, c.reason(m), c.state.Position(m.spec.ID)
	case domain.StatusAdmitted:
		v.State = StateAdmitted
		switch {
		case m.spec.Kind == events.WorkloadKindEnvironment:
			v.Reason = "admitted; holds its admission until the environment is torn down"
		case m.runner != "":
			v.State = StateRunning
		default:
			v.Reason = "admitted; waiting for a runner of pool " + m.spec.Pool + " to start it"
		}
	}
	return v
}

// reason is why a queued workload waits, from the last pass.
func (c *Core) reason(m *meta) string {
	if r, ok := c.waits[m.spec.ID]; ok {
		return r
	}
	return "queued; the next scheduling pass decides"
}

// ListFilter narrows a list of workloads.
type ListFilter struct {
	Teams func(team string) bool
	Team  string
	Pool  string
	State string
	Limit int
}

// List returns the workloads the filter lets through, newest first.
func (c *Core) List(f ListFilter) []View {
	var ms []*meta
	for _, m := range c.metas {
		if (f.Teams != nil && !f.Teams(m.spec.Team)) || (f.Team != "" && m.spec.Team != f.Team) ||
			(f.Pool != "" && m.spec.Pool != f.Pool) {
			continue
		}
		ms = append(ms, m)
	}
	sort.Slice(ms, func(i, j int) bool {
		if !ms[i].submittedAt.Equal(ms[j].submittedAt) {
			return ms[i].submittedAt.After(ms[j].submittedAt)
		}
		return ms[i].spec.ID < ms[j].spec.ID
	})
	out := []View{}
	for _, m := range ms {
		v := c.view(m)
		if f.State != "" && v.State != f.State {
			continue
		}
		out = append(out, v)
		if f.Limit > 0 && len(out) == f.Limit {
			break
		}
	}
	return out
}

// Get returns one workload.
func (c *Core) Get(id string) (View, bool) {
	m := c.metas[id]
	if m == nil {
		return View{}, false
	}
	return c.view(m), true
}

// PoolView is a pool with its capacity and what each team uses of it.
type PoolView struct {
	Name     string                      `json:"name"`
	Capacity map[string]int64            `json:"capacity"`
	Used     map[string]int64            `json:"used"`
	Teams    map[string]map[string]int64 `json:"teams"`
	Queued   int                         `json:"queued"`
}

// Pools lists the pools; teams filters whose usage is shown.
func (c *Core) Pools(teams func(string) bool) []PoolView {
	usage := c.state.Usage()
	queued := map[string]int{}
	for _, w := range c.state.Queued() {
		if teams == nil || teams(w.Team) {
			queued[w.Pool]++
		}
	}
	var out []PoolView
	for _, p := range c.state.Pools() {
		v := PoolView{Name: p.Name, Capacity: map[string]int64(p.Capacity), Used: map[string]int64{},
			Teams: map[string]map[string]int64{}, Queued: queued[p.Name]}
		for team, u := range usage[p.Name] {
			for r, q := range u {
				v.Used[r] += q
			}
			if teams == nil || teams(team) {
				v.Teams[team] = map[string]int64(u)
			}
		}
		out = append(out, v)
	}
	return out
}

// TeamView is a team's weight and quotas.
type TeamView struct {
	Name           string                      `json:"name"`
	Weight         float64                     `json:"weight"`
	Nominal        map[string]map[string]int64 `json:"nominal,omitempty"`
	BorrowingLimit map[string]map[string]int64 `json:"borrowing_limit,omitempty"`
	LendingLimit   map[string]map[string]int64 `json:"lending_limit,omitempty"`
}

// Team returns a team's quotas.
func (c *Core) Team(name string) (TeamView, bool) {
	t, ok := c.state.Team(name)
	if !ok {
		return TeamView{}, false
	}
	d := teamEvent(t, "", time.Time{})
	return TeamView{Name: d.Name, Weight: d.Weight, Nominal: d.Nominal, BorrowingLimit: d.BorrowingLimit,
		LendingLimit: d.LendingLimit}, true
}

func ms(v int64) string {
	if v == 0 {
		return ""
	}
	return (time.Duration(v) * time.Millisecond).String()
}

func ptr(t time.Time) *time.Time {
	if t.IsZero() {
		return nil
	}
	return &t
}
