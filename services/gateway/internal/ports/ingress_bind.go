package ports

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"

	"github.com/cloudevents/sdk-go/v2/event"

	"github.com/pave-platform/pave/pkg/authn"
	"github.com/pave-platform/pave/pkg/httpfx"
	"github.com/pave-platform/pave/pkg/policy"
	"github.com/pave-platform/pave/pkg/rpc"
	"github.com/pave-platform/pave/services/gateway/internal/ingress"
)

// door binds each event POST /v1/events lets in to its sender: what the
// event claims must be within the sender's rights, and the gateway stamps
// the sender and the team on it (see ingress.Stamper).
type door struct {
	apps  Caller
	stamp *ingress.Stamper
}

// refusal is a claim beyond the sender's rights: the field and why.
type refusal struct{ field, reason string }

// bindAll checks and stamps every event, or answers 403 naming the first
// event and claim that is refused (nothing of the request is stored).
func (d door) bindAll(ctx context.Context, w http.ResponseWriter, p authn.Principal, evs []event.Event, log *slog.Logger) bool {
	for i := range evs {
		team, ref, err := d.checkEvent(ctx, p, evs[i])
		if err == nil && ref == nil {
			err = d.stamp.Stamp(ctx, &evs[i], p.ID, team)
		}
		if err != nil {
			log.ErrorContext(ctx, "bind ingress event", "event_id", evs[i].ID(), "error", err)
			httpfx.WriteProblem(w, http.StatusServiceUnavailable, "Service Unavailable",
				"the events could not be bound to their sender; try again", nil)
			return false
		}
		if ref != nil {
			field := indexed(len(evs) > 1, i, "data/"+ref.field)
			httpfx.WriteProblem(w, http.StatusForbidden, "Forbidden", fmt.Sprintf("event [%d]: %s", i, ref.reason),
				map[string]any{"index": i, "errors": []ingress.Issue{{Field: field, Message: ref.reason}}})
			return false
		}
	}
	return true
}

// checkEvent is check, where a team's custom type speaks for its team
// and may claim no other.
func (d door) checkEvent(ctx context.Context, p authn.Principal, e event.Event) (string, *refusal, error) {
	c := ingress.ClaimsOf(e)
	if team, ok := ingress.CustomTeam(e.Type()); ok {
		if c.Team != "" && c.Team != team {
			return "", &refusal{"team", fmt.Sprintf("an event of %s speaks for team %s, not %s", e.Type(), team, c.Team)}, nil
		}
		c.Team = team
	}
	return d.check(ctx, p, c)
}

// check answers the team the event speaks for, or why it may not. A
// platform admin speaks for any team; anyone else only for a team they
// are a developer (or more) of, and for that team's applications.
func (d door) check(ctx context.Context, p authn.Principal, c ingress.Claims) (string, *refusal, error) {
	if p.IsPlatformAdmin() {
		return c.Team, nil, nil
	}
	if c.Team == "" {
		if c.Application != "" || c.Environment != "" {
			return "", &refusal{"team", "an event that names an application or environment must name its team"}, nil
		}
		return "", nil, nil
	}
	if policy.RoleRank(p.TeamRoles[c.Team]) < policy.RoleRank("developer") {
		return "", &refusal{"team", fmt.Sprintf("%s may not send events for team %s", p.ID, c.Team)}, nil
	}
	if c.Application == "" {
		return c.Team, nil, nil
	}
	owner, err := d.applicationTeam(ctx, p, c.Application)
	if err != nil {
		return "", nil, err
	}
	if owner != c.Team {
		return "", &refusal{"application", fmt.Sprintf("team %s has no application %q", c.Team, c.Application)}, nil
	}
	return c.Team, nil, nil
}

// applicationTeam asks lifecycle, as the sender, whose the application is
// ("" when it is none of the sender's).
func (d door) applicationTeam(ctx context.Context, p authn.Principal, name string) (string, error) {
	rep, err := d.apps.Call(ctx, rpc.ApplicationsGet, rpc.Request{Principal: p, Path: map[string]string{"name": name}})
	switch {
	case err != nil:
		return "", fmt.Errorf("look up application %s: %w", name, err)
	case rep.Status == http.StatusNotFound || rep.Status == http.StatusForbidden:
		return "", nil
	case rep.Status != http.StatusOK:
		return "", fmt.Errorf("look up application %s: lifecycle answered %d", name, rep.Status)
	}
	var a struct {
		Team string `json:"team"`
	}
	if err := json.Unmarshal(rep.Body, &a); err != nil {
		return "", fmt.Errorf("look up application %s: %w", name, err)
	}
	return a.Team, nil
}
