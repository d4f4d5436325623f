package audit

import (
	"context"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"

	"github.com/cloudevents/sdk-go/v2/event"

	"github.com/pave-platform/pave/pkg/bus"
	"github.com/pave-platform/pave/pkg/events"
)

// KindSystem is a record of something Pave did by itself.
const KindSystem = "system"

// The principals of system actions.
const (
	SystemTTL        = "system:ttl"        // an ephemeral environment torn down at expiry
	SystemSweeper    = "system:sweeper"    // an orphan found (and removed) by provisioning's sweep
	SystemPreemption = "system:preemption" // a workload preempted by the scheduler
	// SystemWebhook is followed by the delivering repository:
	// system:webhook/<provider>:<repository>.
	SystemWebhook = "system:webhook/"
)

// Appender is what records system actions: the ledger.
type Appender interface {
	Append(ctx context.Context, r Record) error
}

// SystemActions records the actions no person asked for, with their
// principal, from the events that report them:
//
//	EVT_LIFECYCLE  environment.transitioned to decommissioning, reason expired ─ system:ttl
//	EVT_PROVISIONING resource.orphaned                                         ─ system:sweeper
//	EVT_SCHEDULER  workload.preempted                                          ─ system:preemption
//	EVT_GATEWAY    git.pushed, ci.completed, deployment.recorded               ─ system:webhook/<provider>:<repository>
//
// A record's id derives from its event's, so one that a crash made the
// bus redeliver is recognisable (the ledger itself does not deduplicate).
type SystemActions struct{ rec Appender }

// NewSystemActions records through rec.
func NewSystemActions(rec Appender) *SystemActions { return &SystemActions{rec: rec} }

// Consumers are the durable consumers SystemActions needs.
func (SystemActions) Consumers() []bus.ConsumerSpec {
	spec := func(stream, durable string, filters ...string) bus.ConsumerSpec {
		return bus.ConsumerSpec{Stream: stream, Durable: durable, FilterSubjects: filters, MaxDeliver: 20, Concurrency: 1}
	}
	return []bus.ConsumerSpec{
		spec("EVT_LIFECYCLE", "access-audit-ttl", "pave.evt.lifecycle.environment.transitioned"),
		spec("EVT_PROVISIONING", "access-audit-sweeper", "pave.evt.provisioning.resource.orphaned"),
		spec("EVT_SCHEDULER", "access-audit-preemption", "pave.evt.scheduler.workload.preempted"),
		spec("EVT_GATEWAY", "access-audit-webhooks", "pave.evt.gateway.git.pushed",
			"pave.evt.gateway.ci.completed", "pave.evt.gateway.deployment.recorded"),
	}
}

// Handle records the action one event reports (nothing for the others).
func (s *SystemActions) Handle(ctx context.Context, e event.Event) error {
	r, ok, err := systemRecord(e)
	if err != nil {
		return bus.Permanent(fmt.Errorf("system action %s: %w", e.ID(), err))
	}
	if !ok {
		return nil
	}
	r.ID, r.Time, r.Kind, r.ActorKind, r.Decision = "sys-"+e.ID(), e.Time().UTC(), KindSystem, "system", "allow"
	return s.rec.Append(ctx, r)
}

func systemRecord(e event.Event) (Record, bool, error) {
	switch e.Type() {
	case events.TypeEnvironmentTransitioned:
		var d events.EnvironmentTransitioned
		if err := json.Unmarshal(e.Data(), &d); err != nil {
			return Record{}, false, err
		}
		if d.To != "decommissioning" || d.Reason != "expired" {
			return Record{}, false, nil
		}
		return Record{Actor: SystemTTL, Team: d.Team, Action: "environment:delete", Resource: "environment:" + d.EnvironmentID,
			Details: map[string]string{"reason": "expired", "name": d.Name, "stage": d.Stage}}, true, nil
	case events.TypeResourceOrphaned:
		var d events.ResourceOrphaned
		if err := json.Unmarshal(e.Data(), &d); err != nil {
			return Record{}, false, err
		}
		action := "resource:orphan-found"
		if d.Removed {
			action = "resource:orphan-removed"
		}
		return Record{Actor: SystemSweeper, Action: action, Resource: d.Driver + ":" + d.ExternalID,
			Details: map[string]string{"driver": d.Driver}}, true, nil
	case events.TypeWorkloadPreempted:
		var d events.WorkloadPreempted
		if err := json.Unmarshal(e.Data(), &d); err != nil {
			return Record{}, false, err
		}
		return Record{Actor: SystemPreemption, Team: d.Team, Action: "workload:preempt", Resource: "workload:" + d.WorkloadID,
			Details: map[string]string{"by": d.By, "reason": d.Reason, "admission": strconv.Itoa(d.Admission)}}, true, nil
	case events.TypeGitPushed, events.TypeCICompleted, events.TypeDeploymentRecorded:
		var d struct {
			Provider   string `json:"provider"`
			Repository string `json:"repository"`
			Team       string `json:"team"`
			Commit     string `json:"commit"`
			DeliveryID string `json:"delivery_id"`
		}
		if err := json.Unmarshal(e.Data(), &d); err != nil {
			return Record{}, false, err
		}
		action := "webhook:" + strings.TrimSuffix(strings.TrimPrefix(e.Type(), "dev.pave.gateway."), ".v1")
		return Record{Actor: SystemWebhook + d.Provider + ":" + d.Repository, Team: d.Team, Action: action,
			Resource: "repository:" + d.Repository + "@" + d.Commit,
			Details:  map[string]string{"delivery": d.DeliveryID}}, true, nil
	}
	return Record{}, false, nil
}
