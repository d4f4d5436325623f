package ports

import (
	"context"
	"encoding/json"
	"log/slog"
	"net/http"
	"time"

	"github.com/pave-platform/pave/pkg/policy"
	"github.com/pave-platform/pave/pkg/rpc"
)

// promotionRoutes are answered by lifecycle's promotion pipelines.
var promotionRoutes = []route{
	{"GET /v1/applications", rpc.ApplicationsList, nil},
	{"GET /v1/applications/{name}", rpc.ApplicationsGet, []string{"name"}},
	{"PUT /v1/applications/{name}", rpc.ApplicationsPut, []string{"name"}},
	{"POST /v1/promotions", rpc.PromotionsCreate, nil},
	{"GET /v1/promotions", rpc.PromotionsList, nil},
	{"GET /v1/promotions/{id}", rpc.PromotionsGet, []string{"id"}},
	{"POST /v1/promotions/{id}/approve", rpc.PromotionsApprove, []string{"id"}},
}

// promotionRules are the promotion routes' actions and resources. Lists
// without ?team= are filtered by lifecycle to the caller's teams; an
// application or promotion of another team is a 404. The policy gate of
// a promotion (production needs a maintainer or a grant, change
// windows) is decided by the promotion saga on the target environment,
// so that a refusal is in the promotion's history; here the caller must
// be allowed to promote in the application's team at all.
var promotionRules = map[string]resolver{
	"GET /v1/applications":             onTeamQuery("promotion:read"),
	"GET /v1/applications/{name}":      onApplication("name", "promotion:read"),
	"PUT /v1/applications/{name}":      onTeamBody("application:write"),
	"POST /v1/promotions":              onPromotedApplication,
	"GET /v1/promotions":               onTeamQuery("promotion:read"),
	"GET /v1/promotions/{id}":          onPromotion("promotion:read"),
	"POST /v1/promotions/{id}/approve": onPromotion("promotion:approve"),
}

// ownerOf asks lifecycle (as the gateway) for the team that owns the
// object; ok is false when it answered the request itself.
func ownerOf(w http.ResponseWriter, r *http.Request, c Caller, log *slog.Logger, subject, kind string, path map[string]string) (string, bool) {
	ctx, cancel := context.WithTimeout(r.Context(), 15*time.Second)
	defer cancel()
	rep, err := c.Call(ctx, subject, rpc.Request{Principal: lookupAs, Path: path})
	if err != nil {
		Forward(errCaller{err}, log, subject).ServeHTTP(w, r)
		return "", false
	}
	var v map[string]any
	if rep.Status == http.StatusNotFound {
		for _, id := range path {
			WriteReply(w, log, rpc.NotFound(kind, id))
		}
		return "", false
	}
	if rep.Status != http.StatusOK || json.Unmarshal(rep.Body, &v) != nil {
		WriteReply(w, log, rep)
		return "", false
	}
	return stringField(v, "team"), true
}

func onApplication(key, action string) resolver {
	return func(w http.ResponseWriter, r *http.Request, c Caller, log *slog.Logger) (target, bool) {
		team, ok := ownerOf(w, r, c, log, rpc.ApplicationsGet, "application", map[string]string{"name": r.PathValue(key)})
		return target{action: action, resource: policy.TeamResource(team)}, ok
	}
}

func onPromotion(action string) resolver {
	return func(w http.ResponseWriter, r *http.Request, c Caller, log *slog.Logger) (target, bool) {
		team, ok := ownerOf(w, r, c, log, rpc.PromotionsGet, "promotion", map[string]string{"id": r.PathValue("id")})
		return target{action: action, resource: policy.TeamResource(team)}, ok
	}
}

// onPromotedApplication: environment:promote on the application's
// team's environments (stage unknown here; the saga decides on the real
// target). A missing application, or another team's, is refused naming
// the field, the same for both.
func onPromotedApplication(w http.ResponseWriter, r *http.Request, c Caller, log *slog.Logger) (target, bool) {
	body, ok := peekBody(w, r)
	if !ok {
		return target{}, false
	}
	name := stringField(body, "application")
	if name == "" {
		WriteReply(w, log, rpc.Fail(http.StatusBadRequest, "Bad Request", "application: is required",
			rpc.FieldError{Field: "application", Message: "is required"}))
		return target{}, false
	}
	team, ok := ownerOf(w, r, c, log, rpc.ApplicationsGet, "application", map[string]string{"name": name})
	if !ok {
		return target{}, false
	}
	return target{action: "environment:promote", resource: policy.Resource{Type: policy.TypeEnvironment, ID: name + "/" + stringField(body, "to"),
		Team: team}}, true
}
