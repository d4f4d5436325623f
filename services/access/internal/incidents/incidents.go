// Package incidents keeps the open incidents that decisions read
// (context.open_incident): it folds incident events into
// policy.IncidentBucket, which every decision point watches.
//
//	EVT_GATEWAY pave.evt.gateway.incident.> ─ access-incidents ─ opened: put (earliest opened_at) / resolved: delete ─ ACCESS_INCIDENTS ─ watch ─ policy.Incidents
//
// The gateway turns CloudEvents (and incident tools' webhooks) into the
// events; access learns incident state only from them.
package incidents

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/cloudevents/sdk-go/v2/event"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/pave-platform/pave/pkg/bus"
	"github.com/pave-platform/pave/pkg/events"
	"github.com/pave-platform/pave/pkg/kv"
	"github.com/pave-platform/pave/pkg/policy"
)

// Bounds of the bucket: its bytes, and how long an incident nobody
// resolved stays open (a forgotten incident must not open break-glass
// forever).
const (
	maxBytes   = 16 << 20
	MaxOpenFor = policy.MaxOpenFor
)

// ConsumerSpec is the durable consumer of incident events.
func ConsumerSpec() bus.ConsumerSpec {
	return bus.ConsumerSpec{Stream: "EVT_GATEWAY", Durable: "access-incidents", FilterSubjects: []string{"pave.evt.gateway.incident.>"}}
}

// Spec declares the bucket.
func Spec(replicas int) kv.Spec {
	return kv.Spec{Bucket: policy.IncidentBucket, Description: "open incidents, from incident events", Replicas: replicas,
		MaxBytes: maxBytes, TTL: MaxOpenFor}
}

// Folder folds incident events into the bucket.
type Folder struct {
	table *kv.Table[policy.OpenIncident]
}

// Open declares the bucket.
func Open(ctx context.Context, js jetstream.JetStream, replicas int) (*Folder, error) {
	t, err := kv.Open[policy.OpenIncident](ctx, js, Spec(replicas))
	if err != nil {
		return nil, err
	}
	return &Folder{table: t}, nil
}

// Key is an incident's key: its team and a hash of its tool and id.
func Key(in events.Incident) string { return policy.IncidentKey(in) }

// Handle opens or resolves one incident. A repeated or edited opened
// keeps the earliest time; a resolved deletes it (twice is nothing).
func (f *Folder) Handle(ctx context.Context, e event.Event) error {
	var in events.Incident
	if err := e.DataAs(&in); err != nil {
		return bus.Permanent(fmt.Errorf("incident event %s: %w", e.ID(), err))
	}
	key := Key(in)
	switch e.Type() {
	case events.TypeIncidentOpened:
		_, _, err := f.table.Upsert(ctx, key, func(v *policy.OpenIncident, exists bool) error {
			if exists && !in.At.Before(v.OpenedAt) {
				return kv.ErrUnchanged
			}
			*v = policy.OpenIncident{Team: in.Team, Application: in.Application, Stage: in.Stage, Provider: in.Provider,
				ID: in.IncidentID, Title: in.Title, OpenedAt: in.At}
			return nil
		})
		return err
	case events.TypeIncidentResolved:
		err := f.table.Delete(ctx, key, 0)
		if errors.Is(err, kv.ErrNotFound) {
			return nil
		}
		return err
	}
	return nil
}

// Watch follows the bucket into open until ctx ends: access's decisions
// read the incidents its consumer folded, whichever replica folded them.
func (f *Folder) Watch(ctx context.Context, open *policy.Incidents, log *slog.Logger) {
	for ctx.Err() == nil {
		f.watch(ctx, open, log)
		select {
		case <-ctx.Done():
			return
		case <-time.After(time.Second):
		}
	}
}

func (f *Folder) watch(ctx context.Context, open *policy.Incidents, log *slog.Logger) {
	if err := f.table.Follow(ctx, open.Set, open.Remove, ">"); err != nil && ctx.Err() == nil {
		log.Warn("incidents: watch", "error", err)
	}
}
