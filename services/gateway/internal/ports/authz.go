package ports

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/pave-platform/pave/pkg/audit"
	"github.com/pave-platform/pave/pkg/authn"
	"github.com/pave-platform/pave/pkg/httpfx"
	"github.com/pave-platform/pave/pkg/policy"
	"github.com/pave-platform/pave/pkg/rpc"
)

// Decider is the in-process decision point.
type Decider interface {
	Decide(r policy.Request) policy.Decision
}

// Recorder appends decisions to the audit ledger.
type Recorder interface {
	Append(ctx context.Context, r audit.Record) error
}

// Authz is what the authorization middleware needs.
type Authz struct {
	Decider  Decider
	Recorder Recorder
	// Grants are the active just-in-time grants and the change windows
	// (nil: none; every context attribute stays false).
	Grants *policy.Grants
	// Metrics records decision latency (nil: none).
	Metrics *policy.Metrics
	// Reads counts permitted reads per principal and minute instead of
	// recording each (nil: each is recorded).
	Reads *ReadCounter
}

// target is what a request is about: the action and the resource. A
// resolver may answer the request itself (a missing environment, bad
// input) by returning done.
type target struct {
	action   string
	resource policy.Resource
	// notFound is the 404 detail when the caller is not in the
	// resource's team: what the caller asked for (an object's id), never
	// the team it belongs to. Empty: the resource itself is named.
	notFound string
}

type resolver func(w http.ResponseWriter, r *http.Request, c Caller, log *slog.Logger) (target, bool)

// errUnmapped is the decision for a route with no entry in routeRules.
const unmappedAction = "route:unmapped"

// authorize decides every /v1 request through the decision point before
// the route's handler runs. The route is found with the mux's own match,
// so the table is keyed by the exact registered pattern; a pattern
// missing from the table is denied. A denial on a team the caller is not
// in answers 404 (the resource does not exist for them), otherwise 403
// naming the policies. Every deny and every write is in the audit ledger
// before the answer goes out; permitted reads are counted per principal
// and minute.
func authorize(az Authz, c Caller, mux *http.ServeMux, log *slog.Logger) http.Handler {
	// decisions has the table's patterns, so the request it routes carries
	// the path values the resolvers read. Its patterns are a subset of
	// mux's, so for a pattern in the table both match the same one.
	decisions := http.NewServeMux()
	for pattern, resolve := range routeRules {
		decisions.Handle(pattern, decideRoute(az, c, mux, pattern, resolve, log))
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if _, pattern := mux.Handler(r); routeRules[pattern] == nil {
			deny(w, r, az, pattern, log) // secure default
			return
		}
		decisions.ServeHTTP(w, r)
	})
}

func decideRoute(az Authz, c Caller, mux *http.ServeMux, pattern string, resolve resolver, log *slog.Logger) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p, _ := PrincipalFrom(r.Context())
		t, ok := resolve(w, r, c, log)
		if !ok {
			return
		}
		start := time.Now()
		req, used := az.Grants.Apply(policy.Request{Principal: p, Action: t.action, Resource: t.resource}, start)
		d := az.Decider.Decide(req)
		az.Metrics.Observe(r.Context(), time.Since(start), d.Allowed, policy.PathInProcess)
		if d.Allowed {
			az.Grants.Used(used, start)
		}
		if !record(w, r, az, req, d, pattern, log) {
			return
		}
		switch {
		case d.Allowed:
			mux.ServeHTTP(w, r)
		case !d.Member:
			detail := t.notFound
			if detail == "" {
				detail = notFoundDetail(t.resource)
			}
			httpfx.WriteProblem(w, http.StatusNotFound, "Not Found", detail, nil)
		default:
			detail := "the policies do not permit " + t.action + " on " + string(t.resource.Type) + " " + t.resource.ID
			if len(d.Policies) > 0 {
				detail = "forbidden by policy " + strings.Join(d.Policies, ", ") + ": " + t.action + " on " + string(t.resource.Type) + " " + t.resource.ID
			}
			httpfx.WriteProblem(w, http.StatusForbidden, "Forbidden", detail, map[string]any{"policies": d.Policies})
		}
	})
}

// deny refuses a route that has no entry in the table.
func deny(w http.ResponseWriter, r *http.Request, az Authz, pattern string, log *slog.Logger) {
	p, _ := PrincipalFrom(r.Context())
	req := policy.Request{Principal: p, Action: unmappedAction, Resource: policy.PlatformResource}
	if record(w, r, az, req, policy.Decision{Member: true}, pattern, log) {
		httpfx.WriteProblem(w, http.StatusForbidden, "Forbidden", "route "+pattern+" has no access rule", nil)
	}
}

// record puts the decision in the ledger before any answer goes out; a
// permitted read is counted instead, into a record per principal and
// minute (see ReadCounter), unless it hands out secrets: every
// credential read is a record of its own.
func record(w http.ResponseWriter, r *http.Request, az Authz, req policy.Request, d policy.Decision, pattern string, log *slog.Logger) bool {
	if d.Allowed && az.Reads != nil && isRead(r.Method) && !revealsSecrets(req, r) {
		az.Reads.Count(req, pattern)
		return true
	}
	if err := az.Recorder.Append(r.Context(), policy.AuditRecord(req, d, pattern)); err != nil {
		log.ErrorContext(r.Context(), "record decision", "route", pattern, "error", err)
		httpfx.WriteProblem(w, http.StatusServiceUnavailable, "Service Unavailable",
			"the decision could not be recorded in the audit ledger; try again", nil)
		return false
	}
	return true
}

func notFoundDetail(res policy.Resource) string {
	return "no " + strings.ToLower(string(res.Type)) + ` "` + res.ID + `"`
}

func onPlatform(action string) resolver {
	return func(http.ResponseWriter, *http.Request, Caller, *slog.Logger) (target, bool) {
		return target{action: action, resource: policy.PlatformResource}, true
	}
}

func onTeamPath(action string) resolver {
	return func(_ http.ResponseWriter, r *http.Request, _ Caller, _ *slog.Logger) (target, bool) {
		return target{action: action, resource: policy.TeamResource(r.PathValue("team"))}, true
	}
}

// onTeamQuery: with ?team= the team's objects, without it a list the
// owning service filters to the caller's teams.
func onTeamQuery(action string) resolver {
	return func(_ http.ResponseWriter, r *http.Request, _ Caller, _ *slog.Logger) (target, bool) {
		if team := r.URL.Query().Get("team"); team != "" {
			return target{action: action, resource: policy.TeamResource(team)}, true
		}
		return target{action: "platform:list", resource: policy.PlatformResource}, true
	}
}

// peekBody reads the JSON body and puts it back for the handler.
func peekBody(w http.ResponseWriter, r *http.Request) (map[string]any, bool) {
	raw, err := io.ReadAll(http.MaxBytesReader(w, r.Body, MaxBodyBytes))
	var tooBig *http.MaxBytesError
	if errors.As(err, &tooBig) {
		httpfx.WriteProblem(w, http.StatusRequestEntityTooLarge, "Request Entity Too Large",
			"the body is larger than 1 MiB", fieldErrors(rpc.FieldError{Field: "body", Message: "larger than 1 MiB"}))
		return nil, false
	}
	r.Body = io.NopCloser(bytes.NewReader(raw))
	var v map[string]any
	if len(raw) > 0 && json.Unmarshal(raw, &v) != nil {
		httpfx.WriteProblem(w, http.StatusBadRequest, "Bad Request", "the body is not a JSON object",
			fieldErrors(rpc.FieldError{Field: "body", Message: "not a JSON object"}))
		return nil, false
	}
	return v, true
}

func stringField(v map[string]any, k string) string {
	s, _ := v[k].(string)
	return s
}

// onTeamBody: the team named in the body ("team" is required).
func onTeamBody(action string) resolver {
	return func(w http.ResponseWriter, r *http.Request, _ Caller, _ *slog.Logger) (target, bool) {
		body, ok := peekBody(w, r)
		if !ok {
			return target{}, false
		}
		team := stringField(body, "team")
		if team == "" {
			WriteReply(w, nil, rpc.Invalid(rpc.FieldError{Field: "team", Message: "is required"}))
			return target{}, false
		}
		return target{action: action, resource: policy.TeamResource(team)}, true
	}
}

// onTeamBodyOrPlatform: the team named in the body, or (none named) an
// answer the owning service gives without team data.
func onTeamBodyOrPlatform(action string) resolver {
	return func(w http.ResponseWriter, r *http.Request, _ Caller, _ *slog.Logger) (target, bool) {
		body, ok := peekBody(w, r)
		if !ok {
			return target{}, false
		}
		if team := stringField(body, "team"); team != "" {
			return target{action: action, resource: policy.TeamResource(team)}, true
		}
		return target{action: "platform:list", resource: policy.PlatformResource}, true
	}
}

// newEnvironment: the environment a create would make, from the body.
func newEnvironment(w http.ResponseWriter, r *http.Request, _ Caller, _ *slog.Logger) (target, bool) {
	body, ok := peekBody(w, r)
	if !ok {
		return target{}, false
	}
	team := stringField(body, "team")
	if team == "" {
		WriteReply(w, nil, rpc.Invalid(rpc.FieldError{Field: "team", Message: "is required"}))
		return target{}, false
	}
	return target{action: "environment:create", resource: policy.Resource{Type: policy.TypeEnvironment, ID: stringField(body, "name"),
		Team: team, Stage: stringField(body, "stage")}}, true
}

// lookupAs is the gateway's own identity for reading a resource's owner
// and stage before deciding; its answer never reaches the caller.
var lookupAs = authn.Principal{ID: "gateway", Kind: "service", Name: "gateway", Roles: []string{authn.RolePlatformAdmin}}

// lookup asks the owning service for the resource named by the path's id.
func lookup(subject string, typ string, build func(id string, v map[string]any) policy.Resource, action string) resolver {
	return func(w http.ResponseWriter, r *http.Request, c Caller, log *slog.Logger) (target, bool) {
		id := r.PathValue("id")
		ctx, cancel := context.WithTimeout(r.Context(), 15*time.Second)
		defer cancel()
		rep, err := c.Call(ctx, subject, rpc.Request{Principal: lookupAs, Path: map[string]string{"id": id}})
		if err != nil {
			Forward(errCaller{err}, log, subject).ServeHTTP(w, r)
			return target{}, false
		}
		if rep.Status == http.StatusNotFound {
			WriteReply(w, log, rpc.NotFound(typ, id))
			return target{}, false
		}
		var v map[string]any
		if rep.Status != http.StatusOK || json.Unmarshal(rep.Body, &v) != nil {
			WriteReply(w, log, rep)
			return target{}, false
		}
		return target{action: action, resource: build(id, v), notFound: rpc.NotFound(typ, id).Problem.Detail}, true
	}
}

func environmentOf(id string, v map[string]any) policy.Resource {
	ephemeral, _ := v["ephemeral"].(bool)
	return policy.Resource{Type: policy.TypeEnvironment, ID: id, Team: stringField(v, "team"),
		Stage: stringField(v, "stage"), Persistent: !ephemeral}
}

func workloadOf(id string, v map[string]any) policy.Resource {
	return policy.Resource{Type: policy.TypeWorkload, ID: id, Team: stringField(v, "team")}
}

func onEnvironment(action string) resolver {
	return lookup(rpc.EnvironmentsGet, "environment", environmentOf, action)
}

func onWorkload(action string) resolver {
	return lookup(rpc.WorkloadsGet, "workload", workloadOf, action)
}

// onTokenIssue: one's own token, a service account's (its team's admins)
// or another user's (platform admins).
func onTokenIssue(w http.ResponseWriter, r *http.Request, _ Caller, _ *slog.Logger) (target, bool) {
	body, ok := peekBody(w, r)
	if !ok {
		return target{}, false
	}
	p, _ := PrincipalFrom(r.Context())
	if sa := stringField(body, "service_account"); sa != "" {
		team, _, _ := strings.Cut(sa, "/")
		return target{action: "token:issue", resource: policy.TeamResource(team)}, true
	}
	if u := stringField(body, "user"); u != "" && u != p.ID {
		return target{action: "token:issue-any", resource: policy.PlatformResource}, true
	}
	return target{action: "token:own", resource: policy.PlatformResource}, true
}

// revealsSecrets is a read that answers with credentials.
func revealsSecrets(req policy.Request, r *http.Request) bool {
	return strings.Contains(req.Action, "credentials") || r.URL.Query().Get("credentials") == "true"
}
