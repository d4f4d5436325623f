// Package app is the scheduler service: the leader's state (the decision
// core plus what the service knows about each workload), rebuilt from the
// log and changed only by applying events that the leader has decided to
// append.
package app

import (
	"encoding/json"
	"fmt"
	"time"

	"github.com/cloudevents/sdk-go/v2/event"

	"github.com/pave-platform/pave/pkg/events"
	"github.com/pave-platform/pave/services/scheduler/internal/domain"
)

// Outcomes of an ended workload.
const (
	OutcomeFinished  = "finished"
	OutcomeFailed    = "failed"
	OutcomeCancelled = "cancelled"
	OutcomeReleased  = "released"
)

// meta is what the service keeps about a workload beyond the core's view.
type meta struct {
	spec        events.WorkloadSpec
	saga        *events.Saga
	submittedBy string
	submittedAt time.Time
	admission   int
	admittedAt  time.Time
	runner      string
	startedAt   time.Time
	outcome     string
	reason      string
	exitCode    *int
	durationMS  int64
	output      string // the end of a job's output
	endedAt     time.Time
	waitSent    string // the reason of the last waiting event
	order       uint64 // submission order, for snapshots
}

// Core is the leader's state. Apply is the only way it changes, so a
// replay of the log rebuilds exactly what the leader had.
type Core struct {
	state *domain.State
	metas map[string]*meta
	// fileConfig is the last pool and team configuration that came from
	// the configuration file, by "pool/<name>" and "team/<name>"; a new
	// leader appends the file's entries that differ from it.
	fileConfig map[string]string
	// waits is why each queued workload waits, from the last pass.
	waits map[string]string
	// submitted counts submissions, to order a snapshot's workloads.
	submitted uint64
}

// NewCore is an empty state with the decision core's configuration.
func NewCore(cfg domain.Config) *Core {
	s, _ := domain.NewState(cfg, nil, nil)
	return &Core{state: s, metas: map[string]*meta{}, fileConfig: map[string]string{}, waits: map[string]string{}}
}

// Apply changes the state by one log event. An event that does not fit
// the state (a late report for an old admission) changes nothing.
func (c *Core) Apply(e event.Event) error {
	switch e.Type() {
	case events.TypePoolConfigured:
		var d events.PoolConfigured
		if err := decode(e, &d); err != nil {
			return err
		}
		if err := c.state.SetPool(domain.Pool{Name: d.Name, Capacity: d.Capacity}); err != nil {
			return err
		}
		if d.Source == SourceFile {
			c.fileConfig["pool/"+d.Name] = poolKey(d)
		}
	case events.TypeTeamConfigured:
		var d events.TeamConfigured
		if err := decode(e, &d); err != nil {
			return err
		}
		if err := c.state.SetTeam(teamOf(d)); err != nil {
			return err
		}
		if d.Source == SourceFile {
			c.fileConfig["team/"+d.Name] = teamKey(d)
		}
	case events.TypeWorkloadSubmitted:
		var d events.WorkloadSubmitted
		if err := decode(e, &d); err != nil {
			return err
		}
		if err := c.state.Submit(workloadOf(d.Workload, d.SubmittedAt)); err != nil {
			return err
		}
		c.submitted++
		c.metas[d.Workload.ID] = &meta{spec: d.Workload, saga: d.Saga, submittedBy: d.SubmittedBy, submittedAt: d.SubmittedAt,
			order: c.submitted}
	case events.TypeWorkloadWaiting:
		var d events.WorkloadWaiting
		if err := decode(e, &d); err != nil {
			return err
		}
		if m := c.metas[d.WorkloadID]; m != nil {
			m.waitSent = d.Reason
			if d.Saga != nil {
				m.saga = d.Saga
			}
		}
	case events.TypeWorkloadAdmitted:
		var d events.WorkloadAdmitted
		if err := decode(e, &d); err != nil {
			return err
		}
		m := c.metas[d.WorkloadID]
		if m == nil || d.Admission <= m.admission {
			return nil // an answer repeated for a retried saga step
		}
		if err := c.state.Admit(d.WorkloadID, d.At); err != nil {
			return err
		}
		m.admission, m.admittedAt, m.runner, m.startedAt, m.waitSent = d.Admission, d.At, "", time.Time{}, ""
		if d.Saga != nil {
			m.saga = d.Saga
		}
	case events.TypeWorkloadStarted:
		var d events.WorkloadStarted
		if err := decode(e, &d); err != nil {
			return err
		}
		if m := c.current(d.WorkloadID, d.Admission); m != nil {
			m.runner, m.startedAt = d.Runner, d.At
		}
	case events.TypeWorkloadPreempted:
		var d events.WorkloadPreempted
		if err := decode(e, &d); err != nil {
			return err
		}
		return c.requeue(d.WorkloadID, d.Admission, d.At)
	case events.TypeWorkloadRequeued:
		var d events.WorkloadRequeued
		if err := decode(e, &d); err != nil {
			return err
		}
		return c.requeue(d.WorkloadID, d.Admission, d.At)
	case events.TypeWorkloadSettled:
		var d events.WorkloadSettled
		if err := decode(e, &d); err != nil {
			return err
		}
		info, ok := c.state.Workload(d.WorkloadID)
		if !ok || info.Status != domain.StatusAdmitted {
			return nil
		}
		release := domain.Vector{}
		for r, q := range info.Workload.Demand {
			release[r] = max(0, q-d.Demand[r])
		}
		if _, err := c.state.Shrink(d.WorkloadID, release); err != nil {
			return err
		}
	case events.TypeWorkloadFinished:
		var d events.WorkloadFinished
		if err := decode(e, &d); err != nil {
			return err
		}
		if m := c.current(d.WorkloadID, d.Admission); m != nil {
			if err := c.state.Finish(d.WorkloadID, d.At); err != nil {
				return err
			}
			code := d.ExitCode
			c.end(m, OutcomeFinished, "", d.At)
			m.exitCode, m.durationMS, m.output = &code, d.DurationMS, d.Output
		}
	case events.TypeWorkloadFailed:
		var d events.WorkloadFailed
		if err := decode(e, &d); err != nil {
			return err
		}
		m := c.metas[d.WorkloadID]
		if m == nil || m.outcome != "" || (d.Admission != 0 && d.Admission != m.admission) {
			return nil
		}
		if err := c.state.Fail(d.WorkloadID, d.Reason); err != nil {
			return err
		}
		code := d.ExitCode
		c.end(m, OutcomeFailed, d.Reason, d.At)
		m.exitCode, m.durationMS, m.output = &code, d.DurationMS, d.Output
	case events.TypeWorkloadCancelled:
		var d events.WorkloadCancelled
		if err := decode(e, &d); err != nil {
			return err
		}
		m := c.metas[d.WorkloadID]
		if m == nil || m.outcome != "" {
			return nil
		}
		if err := c.state.Fail(d.WorkloadID, "cancelled: "+d.Reason); err != nil {
			return err
		}
		c.end(m, OutcomeCancelled, d.Reason, d.At)
	case events.TypeWorkloadReleased:
		var d events.WorkloadReleased
		if err := decode(e, &d); err != nil {
			return err
		}
		m := c.metas[d.WorkloadID]
		if m == nil || m.outcome != "" {
			return nil
		}
		var err error
		if c.state.Status(d.WorkloadID) == domain.StatusAdmitted {
			err = c.state.Finish(d.WorkloadID, d.At)
		} else {
			err = c.state.Fail(d.WorkloadID, "released: "+d.Reason)
		}
		if err != nil {
			return err
		}
		c.end(m, OutcomeReleased, d.Reason, d.At)
	case events.TypeWorkloadRejected, events.TypeSchedulerLeadership:
		// Nothing changes: a rejected submit queued nothing.
	default:
		return fmt.Errorf("unknown log event type %q", e.Type())
	}
	return nil
}

func (c *Core) requeue(id string, admission int, at time.Time) error {
	m := c.current(id, admission)
	if m == nil || c.state.Status(id) != domain.StatusAdmitted {
		return nil
	}
	if err := c.state.Preempt(id, at); err != nil {
		return err
	}
	m.runner, m.startedAt = "", time.Time{}
	return nil
}

// current is the workload's meta when admission is its current one and it
// has not ended.
func (c *Core) current(id string, admission int) *meta {
	m := c.metas[id]
	if m == nil || m.outcome != "" || m.admission != admission {
		return nil
	}
	return m
}

func (c *Core) end(m *meta, outcome, reason string, at time.Time) {
	m.outcome, m.reason, m.endedAt = outcome, reason, at
	delete(c.waits, m.spec.ID)
}

func decode(e event.Event, v any) error {
	if err := json.Unmarshal(e.Data(), v); err != nil {
		return fmt.Errorf("event %s (%s): %w", e.ID(), e.Type(), err)
	}
	return nil
}

// Configuration sources.
const (
	SourceFile    = "file"
	SourceAPI     = "api"
	SourceDefault = "default"
)

func workloadOf(s events.WorkloadSpec, at time.Time) domain.Workload {
	return domain.Workload{
		ID: s.ID, Team: s.Team, Pool: s.Pool, Demand: domain.Vector(s.Demand), Priority: s.Priority,
		DependsOn: s.DependsOn, Preemptible: s.Preemptible, Kind: domain.Kind(s.Kind),
		MinRuntime:  time.Duration(s.MinRuntimeMS) * time.Millisecond,
		MaxRuntime:  time.Duration(s.MaxRuntimeMS) * time.Millisecond,
		SubmittedAt: at,
	}
}

func teamOf(d events.TeamConfigured) domain.Team {
	conv := func(m map[string]map[string]int64) map[string]domain.Vector {
		if m == nil {
			return nil
		}
		out := make(map[string]domain.Vector, len(m))
		for k, v := range m {
			out[k] = domain.Vector(v)
		}
		return out
	}
	return domain.Team{Name: d.Name, Weight: d.Weight, Nominal: conv(d.Nominal),
		BorrowingLimit: conv(d.BorrowingLimit), LendingLimit: conv(d.LendingLimit)}
}

func teamEvent(t domain.Team, source string, at time.Time) events.TeamConfigured {
	conv := func(m map[string]domain.Vector) map[string]map[string]int64 {
		if len(m) == 0 {
			return nil
		}
		out := make(map[string]map[string]int64, len(m))
		for k, v := range m {
			out[k] = map[string]int64(v.Clone())
		}
		return out
	}
	w := t.Weight
	if w == 0 {
		w = 1
	}
	return events.TeamConfigured{Name: t.Name, Weight: w, Nominal: conv(t.Nominal),
		BorrowingLimit: conv(t.BorrowingLimit), LendingLimit: conv(t.LendingLimit), Source: source, At: at}
}

// poolKey and teamKey compare configurations regardless of time and source.
func poolKey(d events.PoolConfigured) string {
	raw, _ := json.Marshal(d.Capacity)
	return string(raw)
}

func teamKey(d events.TeamConfigured) string {
	d.At, d.Source = time.Time{}, ""
	raw, _ := json.Marshal(d)
	return string(raw)
}
