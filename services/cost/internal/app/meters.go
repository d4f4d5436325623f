package app

import (
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"time"

	"github.com/cloudevents/sdk-go/v2/event"

	"github.com/pave-platform/pave/pkg/bus"
	"github.com/pave-platform/pave/pkg/events"
	"github.com/pave-platform/pave/services/cost/internal/domain"
)

// resourceResult holds the fields of provisioning's results that cost reads.
type resourceResult struct {
	Saga          events.Saga `json:"saga"`
	EnvironmentID string      `json:"environment_id"`
	ResourceID    string      `json:"resource_id"`
	Driver        string      `json:"driver"`
}

// HandleResource meters provisioning's results: a resource is billed from
// provisioned to deprovisioned, and an update changes its class from the
// moment it is done. The mark is keyed by the event id and timed by the
// event's time, so duplicates and late arrivals change nothing.
func (s *Service) HandleResource(ctx context.Context, e event.Event) error {
	kind := map[string]string{
		events.TypeResourceProvisioned: domain.MarkStart, events.TypeResourceUpdated: domain.MarkChange,
		events.TypeResourceDeprovisioned: domain.MarkStop,
	}[e.Type()]
	if kind == "" {
		return nil
	}
	var r resourceResult
	if err := json.Unmarshal(e.Data(), &r); err != nil {
		return bus.Permanent(fmt.Errorf("resource event %s: %w", e.ID(), err))
	}
	at := e.Time().UTC()
	if at.IsZero() {
		return bus.Permanent(fmt.Errorf("resource event %s has no time", e.ID()))
	}
	mark := domain.Mark{ID: e.ID(), At: at, Kind: kind, Saga: r.Saga.ID, Compensation: r.Saga.Compensation}
	return mutateJSON(ctx, s.meters, "res."+r.ResourceID, func(m *domain.ResourceMeter) bool {
		m.ResourceID, m.EnvironmentID = r.ResourceID, r.EnvironmentID
		changed := false
		if m.Driver == "" && r.Driver != "" {
			m.Driver, changed = r.Driver, true
		}
		return m.AddMark(mark) || changed
	})
}

// HandleTransition keeps what cost needs of each environment: team,
// template, stage and state. Only a later transition replaces it, and
// only when it changes what cost reads (domain.Environment.Covers): a
// create and a teardown are stored three times, not once per transition.
func (s *Service) HandleTransition(ctx context.Context, e event.Event) error {
	var t events.EnvironmentTransitioned
	if err := json.Unmarshal(e.Data(), &t); err != nil {
		return bus.Permanent(fmt.Errorf("transition %s: %w", e.ID(), err))
	}
	return mutateJSON(ctx, s.meters, "env."+t.EnvironmentID, func(env *domain.Environment) bool {
		if env.ID != "" && env.Seq >= t.Seq {
			return false
		}
		next := domain.Environment{ID: t.EnvironmentID, Team: t.Team, Name: t.Name, Template: t.Template,
			Version: t.Version, Stage: t.Stage, State: t.To, Seq: t.Seq, At: t.At.UTC()}
		if env.ID != "" && env.Covers(next) {
			return false
		}
		*env = next
		return true
	})
}

// workloadFacts holds the fields of the scheduler's workload events that
// cost reads.
type workloadFacts struct {
	Workload   *events.WorkloadSpec `json:"workload"`
	WorkloadID string               `json:"workload_id"`
	Team       string               `json:"team"`
	Pool       string               `json:"pool"`
	Kind       string               `json:"kind"`
	Demand     map[string]int64     `json:"demand"`
	Admission  int                  `json:"admission"`
}

// HandleWorkload records a job's team, labels and each admission's
// demand from the scheduler's log. Environment workloads are metered by
// their resources instead.
func (s *Service) HandleWorkload(ctx context.Context, e event.Event) error {
	if e.Type() != events.TypeWorkloadSubmitted && e.Type() != events.TypeWorkloadAdmitted {
		return nil
	}
	var f workloadFacts
	if err := json.Unmarshal(e.Data(), &f); err != nil {
		return bus.Permanent(fmt.Errorf("workload event %s: %w", e.ID(), err))
	}
	if f.Workload != nil {
		f.WorkloadID, f.Team, f.Pool, f.Kind = f.Workload.ID, f.Workload.Team, f.Workload.Pool, f.Workload.Kind
	}
	if f.Kind != events.WorkloadKindJob {
		return nil
	}
	return mutateJSON(ctx, s.meters, "job."+f.WorkloadID, func(j *domain.JobMeter) bool {
		before, _ := json.Marshal(j)
		j.WorkloadID, j.Team, j.Pool, j.Kind = f.WorkloadID, f.Team, f.Pool, f.Kind
		if f.Workload != nil && len(f.Workload.Labels) > 0 {
			j.Labels = maps.Clone(f.Workload.Labels)
		}
		if f.Admission > 0 {
			r := j.Run(f.Admission)
			r.Demand = f.Demand
			j.Runs[f.Admission] = r
		}
		after, _ := json.Marshal(j)
		return string(before) != string(after)
	})
}

// jobReport holds the fields of the runner's reports that cost reads.
type jobReport struct {
	WorkloadID string    `json:"workload_id"`
	Admission  int       `json:"admission"`
	DurationMS int64     `json:"duration_ms"`
	StartedAt  time.Time `json:"started_at"`
	At         time.Time `json:"at"`
}

// HandleJob records when each run of a job started and ended, from the
// runner's reports. A run accrues from its start until its end, or until
// now while it runs.
func (s *Service) HandleJob(ctx context.Context, e event.Event) error {
	var r jobReport
	if err := json.Unmarshal(e.Data(), &r); err != nil {
		return bus.Permanent(fmt.Errorf("job report %s: %w", e.ID(), err))
	}
	var start, end time.Time
	switch e.Type() {
	case events.TypeJobStarted:
		start = r.At
	case events.TypeJobFinished, events.TypeJobTimedOut:
		start, end = r.StartedAt, r.At
	case events.TypeJobStopped:
		start, end = r.At.Add(-time.Duration(r.DurationMS)*time.Millisecond), r.At
	default:
		return nil
	}
	return mutateJSON(ctx, s.meters, "job."+r.WorkloadID, func(j *domain.JobMeter) bool {
		j.WorkloadID = r.WorkloadID
		run := j.Run(r.Admission)
		before := run
		if !start.IsZero() && (run.Start.IsZero() || start.Before(run.Start)) {
			run.Start = start.UTC()
		}
		if !end.IsZero() && run.End.IsZero() {
			run.End = end.UTC()
		}
		j.Runs[r.Admission] = run
		return !run.Start.Equal(before.Start) || !run.End.Equal(before.End)
	})
}
