package domain

import (
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

var t0 = time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)

// sim is the Nomad-style harness: it feeds the core state, applies what it
// emits and keeps the record.
type sim struct {
	t       *testing.T
	s       *State
	now     time.Time
	seq     int
	preempt []Preemption
	last    Decisions
}

func newSim(t *testing.T, cfg Config, pools []Pool, teams []Team) *sim {
	t.Helper()
	s, err := NewState(cfg, pools, teams)
	require.NoError(t, err)
	return &sim{t: t, s: s, now: t0}
}

// submit queues n workloads for team in pool p; opt tweaks each one.
func (m *sim) submit(team, pool string, n int, demand Vector, opt func(*Workload)) []string {
	m.t.Helper()
	ids := make([]string, 0, n)
	for range n {
		m.seq++
		w := Workload{ID: fmt.Sprintf("%s-%d", team, m.seq), Team: team, Pool: pool, Demand: demand,
			Kind: KindJob, SubmittedAt: m.now}
		if opt != nil {
			opt(&w)
		}
		require.NoError(m.t, m.s.Submit(w))
		ids = append(ids, w.ID)
	}
	return ids
}

// step schedules and applies until the core has nothing more to do.
func (m *sim) step() Decisions {
	m.t.Helper()
	for range 50 {
		d := Schedule(m.s, m.now)
		require.NoError(m.t, m.s.Apply(d, m.now))
		m.preempt = append(m.preempt, d.Preempt...)
		m.last = d
		if len(d.Admit)+len(d.Preempt)+len(d.Cancel) == 0 {
			return d
		}
	}
	m.t.Fatal("the scheduler did not settle")
	return Decisions{}
}

func (m *sim) running(team string) int {
	n := 0
	for _, a := range m.s.Running() {
		if a.Workload.Team == team {
			n++
		}
	}
	return n
}

func (m *sim) runningIDs(team string) []string {
	var ids []string
	for _, a := range m.s.Running() {
		if a.Workload.Team == team {
			ids = append(ids, a.Workload.ID)
		}
	}
	return ids
}

func (m *sim) finish(ids ...string) {
	m.t.Helper()
	for _, id := range ids {
		require.NoError(m.t, m.s.Finish(id, m.now))
	}
}

func (m *sim) reason(id string) string {
	for _, w := range m.last.Waiting {
		if w.ID == id {
			return w.Reason
		}
	}
	return ""
}

func pool(name string, capacity Vector) Pool { return Pool{Name: name, Capacity: capacity} }

func cpu(n int64) Vector { return Vector{"cpu": n} }

func preemptible(minRuntime time.Duration) func(*Workload) {
	return func(w *Workload) { w.Preemptible, w.MinRuntime = true, minRuntime }
}
