package ports

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"time"

	"github.com/cloudevents/sdk-go/v2/event"

	"github.com/pave-platform/pave/pkg/bus"
	"github.com/pave-platform/pave/pkg/events"
	"github.com/pave-platform/pave/pkg/policy"
)

// GrantIndexSpec is this gateway process's own consumer of access's grant
// events: a fresh name per process, so every replica sees every event and
// a start replays the stream (its retention outlasts any grant) to rebuild
// the index. The server drops the consumer an hour after its process is
// gone. One worker keeps a grant's start before its end.
func GrantIndexSpec() bus.ConsumerSpec {
	var b [6]byte
	_, _ = rand.Read(b[:])
	return bus.ConsumerSpec{
		Stream: "EVT_ACCESS", Durable: "gateway-grants-" + hex.EncodeToString(b[:]),
		FilterSubjects: []string{"pave.evt.access.grant.activated", "pave.evt.access.grant.revoked",
			"pave.evt.access.teardown.>"},
		Concurrency: 1, InactiveThreshold: time.Hour,
	}
}

// GrantIndex feeds the decisions' grant index from access's grant events:
// what the access service publishes is all the gateway knows of grants
// (it never reads access's store).
func GrantIndex(g *policy.Grants) bus.Handler {
	return func(_ context.Context, e event.Event) error {
		gr, err := grantOf(e)
		if err != nil {
			return bus.Permanent(fmt.Errorf("grant event %s: %w", e.Type(), err))
		}
		if gr.ID == "" || (gr.State != policy.GrantEnded && !time.Now().Before(gr.ExpiresAt)) {
			return nil // another event, or a grant already over (a start's replay)
		}
		g.Put(gr)
		return nil
	}
}

// grantOf is the index entry an event says; an event of another type is
// the zero Grant.
func grantOf(e event.Event) (policy.Grant, error) {
	switch e.Type() {
	case events.TypeGrantActivated:
		var a events.GrantActivated
		if err := e.DataAs(&a); err != nil {
			return policy.Grant{}, err
		}
		kind := policy.GrantKindAccess
		if a.BreakGlass {
			kind = policy.GrantKindBreakGlass
		}
		return policy.Grant{ID: a.GrantID, Kind: kind, Principal: a.Principal, Team: a.Team, Role: a.Role, Scope: a.Scope,
			StartsAt: a.StartsAt, ExpiresAt: a.ExpiresAt, RequestID: a.RequestID, State: policy.GrantActive}, nil
	case events.TypeGrantRevoked:
		var r events.GrantRevoked
		if err := e.DataAs(&r); err != nil {
			return policy.Grant{}, err
		}
		return policy.Grant{ID: r.GrantID, Principal: r.Principal, Team: r.Team, State: policy.GrantEnded}, nil
	case events.TypeTeardownApproved:
		var a events.TeardownApproved
		if err := e.DataAs(&a); err != nil {
			return policy.Grant{}, err
		}
		return policy.Grant{ID: a.GrantID, Kind: policy.GrantKindTeardown, Principal: a.Principal, Team: a.Team, Scope: a.Scope,
			StartsAt: a.StartsAt, ExpiresAt: a.ExpiresAt, RequestID: a.RequestID, ApprovedBy: a.ApprovedBy, State: policy.GrantActive}, nil
	case events.TypeTeardownEnded:
		var r events.TeardownEnded
		if err := e.DataAs(&r); err != nil {
			return policy.Grant{}, err
		}
		return policy.Grant{ID: r.GrantID, Principal: r.Principal, Team: r.Team, State: policy.GrantEnded}, nil
	}
	return policy.Grant{}, nil
}

// IncidentIndexSpec is this gateway process's own consumer of the
// incident events the gateway publishes: every replica sees every one,
// and a start replays the stream to rebuild the open incidents.
func IncidentIndexSpec() bus.ConsumerSpec {
	var b [6]byte
	_, _ = rand.Read(b[:])
	return bus.ConsumerSpec{
		Stream: "EVT_GATEWAY", Durable: "gateway-incidents-" + hex.EncodeToString(b[:]),
		FilterSubjects: []string{"pave.evt.gateway.incident.>"},
		Concurrency:    1, InactiveThreshold: time.Hour,
	}
}

// IncidentIndex feeds the decisions' open incidents (context.open_incident)
// from incident events: the gateway never reads access's incident bucket.
func IncidentIndex(i *policy.Incidents) bus.Handler {
	return func(_ context.Context, e event.Event) error {
		var in events.Incident
		if err := e.DataAs(&in); err != nil {
			return bus.Permanent(fmt.Errorf("incident event %s: %w", e.ID(), err))
		}
		i.Apply(e.Type(), in)
		return nil
	}
}
