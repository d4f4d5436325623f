package ports

import (
	"log/slog"
	"net/http"

	"github.com/pave-platform/pave/pkg/httpfx"
	"github.com/pave-platform/pave/pkg/policy"
	"github.com/pave-platform/pave/services/gateway/internal/notify/domain"
)

// registerNotify serves the outbound subscriptions and alerts (answered
// by notify in this process) and the live event feed.
func registerNotify(mux *http.ServeMux, d Deps, cfg Config) {
	h := d.Notify
	if h == nil {
		h = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			httpfx.WriteProblem(w, http.StatusNotImplemented, "Not Implemented", "this gateway runs without notify", nil)
		})
	}
	mux.Handle("POST /v1/subscriptions", h)
	mux.Handle("GET /v1/subscriptions", h)
	mux.Handle("GET /v1/subscriptions/{id}", h)
	mux.Handle("DELETE /v1/subscriptions/{id}", h)
	mux.Handle("POST /v1/subscriptions/{id}/rotate", h)
	mux.Handle("POST /v1/subscriptions/{id}/enable", h)
	mux.Handle("GET /v1/subscriptions/{id}/deliveries", h)
	mux.Handle("POST /v1/subscriptions/{id}/replay", h)
	mux.Handle("GET /v1/alerts", h)
	mux.Handle("POST /v1/alerts/{id}/ack", h)
	mux.Handle("GET /v1/events/stream", capStreams(cfg.StreamsPerPrincipal, teamEvents(d.JS, d.Log)))
}

// notifyRules: a subscription's or alert's id starts with its scope (a
// team, or _platform), so another team's is a 404 without a lookup;
// platform-wide ones are the platform admins'. Lists without ?team=
// show the caller's teams (all for a platform admin).
var notifyRules = map[string]resolver{
	"POST /v1/subscriptions":                onTeamBodyOr("subscription:write", "subscription:platform"),
	"GET /v1/subscriptions":                 onTeamQuery("subscription:read"),
	"GET /v1/subscriptions/{id}":            onScopedID("subscription", "subscription:read", "subscription:platform"),
	"DELETE /v1/subscriptions/{id}":         onScopedID("subscription", "subscription:write", "subscription:platform"),
	"POST /v1/subscriptions/{id}/rotate":    onScopedID("subscription", "subscription:write", "subscription:platform"),
	"POST /v1/subscriptions/{id}/enable":    onScopedID("subscription", "subscription:write", "subscription:platform"),
	"GET /v1/subscriptions/{id}/deliveries": onScopedID("subscription", "subscription:read", "subscription:platform"),
	"POST /v1/subscriptions/{id}/replay":    onScopedID("subscription", "subscription:write", "subscription:platform"),
	"GET /v1/alerts":                        onTeamQuery("alert:read"),
	"POST /v1/alerts/{id}/ack":              onScopedID("alert", "alert:ack", "alert:platform"),
	"GET /v1/events/stream":                 onTeamQueryOr("event:stream", "event:stream-all"),
}

// onScopedID: the team in the id decides; a platform id needs the
// platform action.
func onScopedID(kind, action, platformAction string) resolver {
	return func(_ http.ResponseWriter, r *http.Request, _ Caller, _ *slog.Logger) (target, bool) {
		id := r.PathValue("id")
		scope := domain.ScopeOfID(id)
		nf := "no " + kind + ` "` + id + `"`
		if scope == domain.PlatformScope {
			return target{action: platformAction, resource: policy.PlatformResource, notFound: nf}, true
		}
		return target{action: action, resource: policy.TeamResource(scope), notFound: nf}, true
	}
}

// onTeamBodyOr: the body's team, or (none named) the platform action.
func onTeamBodyOr(action, platformAction string) resolver {
	return func(w http.ResponseWriter, r *http.Request, _ Caller, _ *slog.Logger) (target, bool) {
		body, ok := peekBody(w, r)
		if !ok {
			return target{}, false
		}
		if team := stringField(body, "team"); team != "" {
			return target{action: action, resource: policy.TeamResource(team)}, true
		}
		return target{action: platformAction, resource: policy.PlatformResource}, true
	}
}

// onTeamQueryOr: ?team= names the team, or the platform action.
func onTeamQueryOr(action, platformAction string) resolver {
	return func(_ http.ResponseWriter, r *http.Request, _ Caller, _ *slog.Logger) (target, bool) {
		if team := r.URL.Query().Get("team"); team != "" {
			return target{action: action, resource: policy.TeamResource(team)}, true
		}
		return target{action: platformAction, resource: policy.PlatformResource}, true
	}
}
