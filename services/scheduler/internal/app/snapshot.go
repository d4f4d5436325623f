package app

import (
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"time"

	"github.com/cloudevents/sdk-go/v2/event"

	"github.com/pave-platform/pave/pkg/events"
	"github.com/pave-platform/pave/services/scheduler/internal/domain"
)

// SnapshotVersion is the layout of a Snapshot; a snapshot of another
// version is ignored and the log replayed from its start.
const SnapshotVersion = 1

// Snapshot is the leader's state at a sequence of the log, written as the
// shortest list of log events that rebuilds it: the pools and teams as
// they are, and for each workload the events that bring it where it is.
// A new leader applies it, then the log after LastSeq only (issue 15).
type Snapshot struct {
	Version int    `json:"version"`
	LastSeq uint64 `json:"last_seq"`
	// FileConfig is Core.fileConfig: what the pools file last said.
	FileConfig map[string]string `json:"file_config,omitempty"`
	Events     []SnapshotEvent   `json:"events"`
	At         time.Time         `json:"at"`
}

// SnapshotEvent is one log event of a snapshot.
type SnapshotEvent struct {
	Type string          `json:"type"`
	Data json.RawMessage `json:"data"`
}

// SnapshotStore keeps the latest snapshot, encoded. Load answers false
// when there is none.
type SnapshotStore interface {
	Load(ctx context.Context) ([]byte, bool, error)
	Save(ctx context.Context, raw []byte) error
}

// Snapshot writes the state down; lastSeq is the log sequence of the last
// event applied to it.
func (c *Core) Snapshot(lastSeq uint64, at time.Time) (Snapshot, error) {
	s := Snapshot{Version: SnapshotVersion, LastSeq: lastSeq, FileConfig: maps.Clone(c.fileConfig), At: at}
	add := func(t string, data any) error {
		raw, err := json.Marshal(data)
		if err != nil {
			return fmt.Errorf("snapshot %s: %w", t, err)
		}
		s.Events = append(s.Events, SnapshotEvent{Type: t, Data: raw})
		return nil
	}
	// Configuration first, marked as from the API so that applying it
	// does not touch fileConfig, which the snapshot carries as it is.
	for _, p := range c.state.Pools() {
		if err := add(events.TypePoolConfigured, events.PoolConfigured{Name: p.Name,
			Capacity: map[string]int64(p.Capacity), Source: SourceAPI, At: at}); err != nil {
			return Snapshot{}, err
		}
	}
	for _, t := range c.state.Teams() {
		if err := add(events.TypeTeamConfigured, teamEvent(t, SourceAPI, at)); err != nil {
			return Snapshot{}, err
		}
	}
	for _, m := range c.inOrder() {
		if err := c.snapshotWorkload(m, add); err != nil {
			return Snapshot{}, err
		}
	}
	return s, nil
}

// inOrder lists the workloads in the order they were submitted, so that a
// parent comes before its children.
func (c *Core) inOrder() []*meta {
	ms := slices.Collect(maps.Values(c.metas))
	slices.SortFunc(ms, func(a, b *meta) int { return cmp.Compare(a.order, b.order) })
	return ms
}

func (c *Core) snapshotWorkload(m *meta, add func(string, any) error) error {
	id := m.spec.ID
	if err := add(events.TypeWorkloadSubmitted, events.WorkloadSubmitted{Workload: m.spec, Saga: m.saga,
		SubmittedBy: m.submittedBy, SubmittedAt: m.submittedAt}); err != nil {
		return err
	}
	status := c.state.Status(id)
	if m.admission > 0 {
		if err := add(events.TypeWorkloadAdmitted, events.WorkloadAdmitted{WorkloadID: id, Team: m.spec.Team,
			Pool: m.spec.Pool, Kind: m.spec.Kind, Demand: m.spec.Demand, Admission: m.admission, At: m.admittedAt}); err != nil {
			return err
		}
		if info, ok := c.state.Workload(id); ok && !maps.Equal(map[string]int64(info.Workload.Demand), m.spec.Demand) {
			if err := add(events.TypeWorkloadSettled, events.WorkloadSettled{WorkloadID: id,
				Demand: map[string]int64(info.Workload.Demand), At: m.admittedAt}); err != nil {
				return err
			}
		}
		if status == domain.StatusFailed && m.outcome == OutcomeReleased {
			// Released while queued again after an admission: the
			// release failed it rather than finishing it.
			if err := add(events.TypeWorkloadRequeued, events.WorkloadRequeued{WorkloadID: id,
				Admission: m.admission, Reason: "snapshot", At: m.endedAt}); err != nil {
				return err
			}
			return add(events.TypeWorkloadReleased, events.WorkloadReleased{WorkloadID: id, Existed: true,
				Reason: m.reason, At: m.endedAt})
		}
		if status == domain.StatusQueued {
			info, _ := c.state.Workload(id)
			return c.snapshotWait(m, add(events.TypeWorkloadRequeued, events.WorkloadRequeued{WorkloadID: id,
				Admission: m.admission, Reason: "snapshot", At: info.Since}), add)
		}
		if !m.startedAt.IsZero() || m.runner != "" {
			if err := add(events.TypeWorkloadStarted, events.WorkloadStarted{WorkloadID: id, Admission: m.admission,
				Runner: m.runner, At: m.startedAt}); err != nil {
				return err
			}
		}
	}
	code := 0
	if m.exitCode != nil {
		code = *m.exitCode
	}
	switch m.outcome {
	case "":
		return c.snapshotWait(m, nil, add)
	case OutcomeFinished:
		return add(events.TypeWorkloadFinished, events.WorkloadFinished{WorkloadID: id, Team: m.spec.Team,
			Admission: m.admission, ExitCode: code, DurationMS: m.durationMS, Output: m.output, At: m.endedAt})
	case OutcomeFailed:
		return add(events.TypeWorkloadFailed, events.WorkloadFailed{WorkloadID: id, Team: m.spec.Team,
			Admission: m.admission, Reason: m.reason, ExitCode: code, DurationMS: m.durationMS, Output: m.output, At: m.endedAt})
	case OutcomeCancelled:
		return add(events.TypeWorkloadCancelled, events.WorkloadCancelled{WorkloadID: id, Team: m.spec.Team,
			Reason: m.reason, At: m.endedAt})
	case OutcomeReleased:
		return add(events.TypeWorkloadReleased, events.WorkloadReleased{WorkloadID: id, Existed: true,
			Reason: m.reason, At: m.endedAt})
	}
	return fmt.Errorf("snapshot %s: unknown outcome %q", id, m.outcome)
}

// snapshotWait adds the last waiting reason sent for a live workload.
func (c *Core) snapshotWait(m *meta, err error, add func(string, any) error) error {
	if err != nil || m.waitSent == "" || m.outcome != "" {
		return err
	}
	return add(events.TypeWorkloadWaiting, events.WorkloadWaiting{WorkloadID: m.spec.ID, Team: m.spec.Team,
		Kind: m.spec.Kind, Reason: m.waitSent})
}

// Restore applies a snapshot to an empty core.
func (c *Core) Restore(s Snapshot) error {
	if len(c.metas) > 0 {
		return fmt.Errorf("restore snapshot: the state is not empty")
	}
	for i, se := range s.Events {
		e := event.New()
		e.SetID(fmt.Sprintf("snapshot/%d/%d", s.LastSeq, i))
		e.SetType(se.Type)
		if err := e.SetData(event.ApplicationJSON, []byte(se.Data)); err != nil {
			return fmt.Errorf("restore snapshot event %d: %w", i, err)
		}
		if err := c.Apply(e); err != nil {
			return fmt.Errorf("restore snapshot event %d (%s): %w", i, se.Type, err)
		}
	}
	c.fileConfig = maps.Clone(s.FileConfig)
	if c.fileConfig == nil {
		c.fileConfig = map[string]string{}
	}
	return nil
}

// Forget drops the workloads that ended before cutoff and that no live
// workload depends on, from the service's state and the core's: finished
// work leaves memory (issue 15). It returns how many it dropped.
func (c *Core) Forget(cutoff time.Time) int {
	needed := map[string]bool{}
	for _, m := range c.metas {
		if m.outcome == "" {
			for _, d := range m.spec.DependsOn {
				needed[d] = true
			}
		}
	}
	n := 0
	for id, m := range c.metas {
		if m.outcome == "" || !m.endedAt.Before(cutoff) || needed[id] {
			continue
		}
		c.state.Forget(id)
		delete(c.metas, id)
		delete(c.waits, id)
		n++
	}
	return n
}
