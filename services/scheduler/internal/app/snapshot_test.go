package app

import (
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"sort"
	"testing"
	"time"

	"github.com/cloudevents/sdk-go/v2/event"
	"github.com/stretchr/testify/require"

	"github.com/pave-platform/pave/pkg/events"
	"github.com/pave-platform/pave/services/scheduler/internal/domain"
)

var t0 = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)

func logEvent(t *testing.T, typ string, data any) event.Event {
	t.Helper()
	e := event.New()
	e.SetID(fmt.Sprintf("%s-%d", typ, rand.Int()))
	e.SetType(typ)
	require.NoError(t, e.SetData(event.ApplicationJSON, data))
	return e
}

// randomLog is a log a leader could have written: configuration, then
// workloads going through random lives (admitted, started, preempted,
// shrunk, finished, failed, cancelled, released, told to wait).
func randomLog(t *testing.T, r *rand.Rand, n int) []event.Event {
	t.Helper()
	c := NewCore(domain.Config{EnforceQuotas: true})
	var log []event.Event
	emit := func(typ string, data any) {
		e := logEvent(t, typ, data)
		require.NoError(t, c.Apply(e))
		log = append(log, e)
	}
	emit(events.TypePoolConfigured, events.PoolConfigured{Name: "p", Capacity: map[string]int64{"cpu": 1000, "ops": 100}, Source: SourceFile, At: t0})
	emit(events.TypePoolConfigured, events.PoolConfigured{Name: "q", Capacity: map[string]int64{"cpu": 1000}, Source: SourceAPI, At: t0})
	for _, team := range []string{"a", "b"} {
		emit(events.TypeTeamConfigured, events.TeamConfigured{Name: team, Weight: 1, Source: SourceFile, At: t0,
			Nominal: map[string]map[string]int64{"p": {"cpu": 500, "ops": 50}, "q": {"cpu": 500}}})
	}
	var ids []string
	at := t0
	for i := range n {
		at = at.Add(time.Duration(r.IntN(1000)) * time.Millisecond)
		if len(ids) == 0 || r.IntN(4) == 0 {
			id := fmt.Sprintf("w%d", i)
			spec := events.WorkloadSpec{ID: id, Team: []string{"a", "b"}[r.IntN(2)], Pool: []string{"p", "q"}[r.IntN(2)],
				Kind: events.WorkloadKindJob, Demand: map[string]int64{"cpu": 1 + r.Int64N(5)}, Priority: r.IntN(3),
				Preemptible: r.IntN(2) == 0, Job: &events.JobSpec{Command: "true"}, Labels: map[string]string{"i": id}}
			if spec.Pool == "p" {
				spec.Demand["ops"] = 1
			}
			if len(ids) > 0 && r.IntN(5) == 0 {
				spec.DependsOn = []string{ids[r.IntN(len(ids))]}
			}
			emit(events.TypeWorkloadSubmitted, events.WorkloadSubmitted{Workload: spec, SubmittedBy: "dev", SubmittedAt: at})
			ids = append(ids, id)
			continue
		}
		id := ids[r.IntN(len(ids))]
		m := c.metas[id]
		switch st := c.state.Status(id); {
		case st == domain.StatusQueued && r.IntN(6) == 0:
			emit(events.TypeWorkloadCancelled, events.WorkloadCancelled{WorkloadID: id, Team: m.spec.Team, Reason: "bored", At: at})
		case st == domain.StatusQueued && r.IntN(5) == 0:
			emit(events.TypeWorkloadWaiting, events.WorkloadWaiting{WorkloadID: id, Team: m.spec.Team, Kind: m.spec.Kind,
				Reason: fmt.Sprintf("reason %d", r.IntN(3)), At: at})
		case st == domain.StatusQueued && r.IntN(8) == 0:
			emit(events.TypeWorkloadReleased, events.WorkloadReleased{WorkloadID: id, Existed: true, Reason: "withdrawn", At: at})
		case st == domain.StatusQueued && c.ready(id):
			emit(events.TypeWorkloadAdmitted, events.WorkloadAdmitted{WorkloadID: id, Team: m.spec.Team, Pool: m.spec.Pool,
				Kind: m.spec.Kind, Demand: m.spec.Demand, Admission: m.admission + 1, At: at})
		case st == domain.StatusAdmitted && m.runner == "" && r.IntN(2) == 0:
			emit(events.TypeWorkloadStarted, events.WorkloadStarted{WorkloadID: id, Admission: m.admission, Runner: "r1", At: at})
		case st == domain.StatusAdmitted && r.IntN(6) == 0:
			emit(events.TypeWorkloadPreempted, events.WorkloadPreempted{WorkloadID: id, Team: m.spec.Team, Admission: m.admission,
				By: "someone", Reason: "room", At: at})
		case st == domain.StatusAdmitted && r.IntN(6) == 0:
			emit(events.TypeWorkloadSettled, events.WorkloadSettled{WorkloadID: id, Demand: map[string]int64{"cpu": 1}, At: at})
		case st == domain.StatusAdmitted && r.IntN(4) == 0:
			emit(events.TypeWorkloadFailed, events.WorkloadFailed{WorkloadID: id, Team: m.spec.Team, Admission: m.admission,
				Reason: "exited with code 3", ExitCode: 3, DurationMS: 7, Output: "oops", At: at})
		case st == domain.StatusAdmitted && r.IntN(5) == 0:
			emit(events.TypeWorkloadReleased, events.WorkloadReleased{WorkloadID: id, Existed: true, Reason: "torn down", At: at})
		case st == domain.StatusAdmitted:
			emit(events.TypeWorkloadFinished, events.WorkloadFinished{WorkloadID: id, Team: m.spec.Team, Admission: m.admission,
				DurationMS: int64(r.IntN(100)), Output: "ok", At: at})
		}
	}
	return log
}

// ready: the workload's parents have finished, so admitting it is
// something a leader could have done.
func (c *Core) ready(id string) bool {
	for _, d := range c.metas[id].spec.DependsOn {
		if c.state.Status(d) != domain.StatusFinished {
			return false
		}
	}
	return true
}

// dump is everything a leader decides from and shows, in a stable form.
func dump(t *testing.T, c *Core, now time.Time) string {
	t.Helper()
	ids := make([]string, 0, len(c.metas))
	for id := range c.metas {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	type row struct {
		View   View
		Status domain.Status
		Failed string
		Order  int
	}
	var rows []row
	for _, id := range ids {
		rows = append(rows, row{c.view(c.metas[id]), c.state.Status(id), c.state.FailureReason(id), 0})
	}
	d := domain.Schedule(c.state, now)
	sort.Strings(d.Admit)
	sort.Slice(d.Preempt, func(i, j int) bool { return d.Preempt[i].ID < d.Preempt[j].ID })
	sort.Slice(d.Waiting, func(i, j int) bool { return d.Waiting[i].ID < d.Waiting[j].ID })
	raw, err := json.Marshal(map[string]any{"workloads": rows, "usage": c.state.Usage(), "pools": c.state.Pools(),
		"teams": c.state.Teams(), "file": c.fileConfig, "decisions": d})
	require.NoError(t, err)
	return string(raw)
}

// Property (issue 15): a snapshot taken at any point of the log, plus the
// tail after it, rebuilds exactly the state a replay of the whole log
// rebuilds, and the next scheduling pass decides the same.
func TestSnapshotPlusTailEqualsFullReplay(t *testing.T) {
	for seed := range uint64(200) {
		r := rand.New(rand.NewPCG(seed, 7))
		log := randomLog(t, r, 20+r.IntN(200))
		full := NewCore(domain.Config{EnforceQuotas: true})
		for _, e := range log {
			require.NoError(t, full.Apply(e))
		}
		k := r.IntN(len(log) + 1)
		prefix := NewCore(domain.Config{EnforceQuotas: true})
		for _, e := range log[:k] {
			require.NoError(t, prefix.Apply(e))
		}
		snap, err := prefix.Snapshot(uint64(k), t0)
		require.NoError(t, err)
		raw, err := json.Marshal(snap) // as it is stored
		require.NoError(t, err)
		var stored Snapshot
		require.NoError(t, json.Unmarshal(raw, &stored))

		rebuilt := NewCore(domain.Config{EnforceQuotas: true})
		require.NoError(t, rebuilt.Restore(stored), "seed %d", seed)
		for _, e := range log[k:] {
			require.NoError(t, rebuilt.Apply(e), "seed %d", seed)
		}
		now := t0.Add(24 * time.Hour)
		require.Equal(t, dump(t, full, now), dump(t, rebuilt, now), "seed %d, snapshot after %d of %d events", seed, k, len(log))
	}
}

// Ended workloads leave memory after the window, unless a live workload
// still depends on them; a snapshot then no longer carries them.
func TestForgetDropsEndedWorkloadsNothingDependsOn(t *testing.T) {
	c := NewCore(domain.Config{})
	apply := func(typ string, data any) { require.NoError(t, c.Apply(logEvent(t, typ, data))) }
	apply(events.TypePoolConfigured, events.PoolConfigured{Name: "p", Capacity: map[string]int64{"cpu": 10}, Source: SourceFile, At: t0})
	apply(events.TypeTeamConfigured, events.TeamConfigured{Name: "a", Weight: 1, Source: SourceFile, At: t0,
		Nominal: map[string]map[string]int64{"p": {"cpu": 10}}})
	submit := func(id string, deps ...string) {
		apply(events.TypeWorkloadSubmitted, events.WorkloadSubmitted{Workload: events.WorkloadSpec{ID: id, Team: "a", Pool: "p",
			Kind: events.WorkloadKindJob, Demand: map[string]int64{"cpu": 1}, DependsOn: deps, Job: &events.JobSpec{Command: "true"}},
			SubmittedAt: t0})
	}
	finish := func(id string, at time.Time) {
		apply(events.TypeWorkloadAdmitted, events.WorkloadAdmitted{WorkloadID: id, Team: "a", Pool: "p", Kind: "job", Admission: 1, At: at})
		apply(events.TypeWorkloadFinished, events.WorkloadFinished{WorkloadID: id, Team: "a", Admission: 1, At: at})
	}
	submit("old")
	submit("parent")
	submit("child", "parent")
	submit("recent")
	finish("old", t0.Add(time.Minute))
	finish("parent", t0.Add(time.Minute))
	finish("recent", t0.Add(time.Hour))

	require.Equal(t, 1, c.Forget(t0.Add(30*time.Minute)))
	require.NotContains(t, c.metas, "old")
	require.Equal(t, domain.StatusUnknown, c.state.Status("old"))
	require.Contains(t, c.metas, "parent", "child still depends on it")
	require.Contains(t, c.metas, "recent", "ended within the window")
	snap, err := c.Snapshot(9, t0)
	require.NoError(t, err)
	for _, e := range snap.Events {
		require.NotContains(t, string(e.Data), `"old"`)
	}
}
