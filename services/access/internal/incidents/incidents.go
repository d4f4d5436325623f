// Package incidents keeps the open incidents that decisions read
// (context.open_incident): it folds incident events into
// decide.IncidentBucket, which every decision point watches.
//
//	EVT_GATEWAY pave.evt.gateway.incident.> ─ access-incidents ─ opened: put (earliest opened_at) / resolved: delete ─ ACCESS_INCIDENTS ─ watch ─ decide.Incidents
//
// The gateway turns CloudEvents (and incident tools' webhooks) into the
// events; access learns incident state only from them.
package incidents

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"time"

	"github.com/cloudevents/sdk-go/v2/event"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/pave-platform/pave/pkg/bus"
	"github.com/pave-platform/pave/pkg/events"
	"github.com/pave-platform/pave/pkg/kv"
	"github.com/pave-platform/pave/services/access/decide"
)

// Bounds of the bucket: its bytes, and how long an incident nobody
// resolved stays open (a forgotten incident must not open break-glass
// forever).
const (
	maxBytes   = 16 << 20
	MaxOpenFor = 7 * 24 * time.Hour
)

// ConsumerSpec is the durable consumer of incident events.
func ConsumerSpec() bus.ConsumerSpec {
	return bus.ConsumerSpec{Stream: "EVT_GATEWAY", Durable: "access-incidents", FilterSubjects: []string{"pave.evt.gateway.incident.>"}}
}

// Spec declares the bucket.
func Spec(replicas int) kv.Spec {
	return kv.Spec{Bucket: decide.IncidentBucket, Description: "open incidents, from incident events", Replicas: replicas,
		MaxBytes: maxBytes, TTL: MaxOpenFor}
}

// Folder folds incident events into the bucket.
type Folder struct {
	table *kv.Table[decide.OpenIncident]
}

// Open declares the bucket.
func Open(ctx context.Context, js jetstream.JetStream, replicas int) (*Folder, error) {
	t, err := kv.Open[decide.OpenIncident](ctx, js, Spec(replicas))
	if err != nil {
		return nil, err
	}
	return &Folder{table: t}, nil
}

// Key is an incident's key: its team and a hash of its tool and id.
func Key(in events.Incident) string {
	h := sha256.Sum256([]byte(in.Provider + "/" + in.IncidentID))
	return in.Team + "." + hex.EncodeToString(h[:12])
}

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
		_, _, err := f.table.Upsert(ctx, key, func(v *decide.OpenIncident, exists bool) error {
			if exists && !in.At.Before(v.OpenedAt) {
				return kv.ErrUnchanged
			}
			*v = decide.OpenIncident{Team: in.Team, Application: in.Application, Stage: in.Stage, Provider: in.Provider,
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
