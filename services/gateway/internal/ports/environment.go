package ports

import (
	"context"
	"encoding/json"
	"log/slog"
	"net/http"
	"time"

	"github.com/pave-platform/pave/pkg/httpfx"
	"github.com/pave-platform/pave/pkg/policy"
	"github.com/pave-platform/pave/pkg/rpc"
)

// Actions of a credential read (credentials.cedar): the owner login of a
// resource, and the caller's own grant logins.
const (
	ownerCredentialsAction = "environment:credentials"
	grantCredentialsAction = "environment:grant-credentials"
)

// credentialsRoute names the explicit credential read in the audit ledger.
const credentialsRoute = "GET /v1/environments/{id}?credentials=true"

// getEnvironment answers GET /v1/environments/{id}: the environment from
// lifecycle, with no secret in it. With ?credentials=true each ready
// resource also carries a login: the owner's for those the policies allow
// (environment:credentials: a team's maintainers; production only with a
// just-in-time grant), otherwise the caller's own grant logins, and 403
// when the caller has neither. Every such read is a decision in the audit
// ledger. Lifecycle already answered 404 to a caller of another team, so
// nothing is ever asked for on their behalf.
func getEnvironment(az Authz, c Caller, log *slog.Logger) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		want, ok := wantsCredentials(w, r)
		if !ok {
			return
		}
		req, _ := buildRequest(w, r, []string{"id"})
		delete(req.Query, "credentials")
		ctx, cancel := context.WithTimeout(r.Context(), 15*time.Second)
		defer cancel()
		rep, err := c.Call(ctx, rpc.EnvironmentsGet, req)
		if err != nil {
			Forward(errCaller{err}, log, rpc.EnvironmentsGet).ServeHTTP(w, r)
			return
		}
		if rep.Status == http.StatusOK && want {
			headers := rep.Headers
			if rep, ok = withCredentials(ctx, w, r, az, c, req, rep.Body, log); !ok {
				return
			}
			if rep.Status == http.StatusOK {
				rep.Headers = headers
			}
		}
		WriteReply(w, log, rep)
	})
}

// wantsCredentials reads ?credentials= (true or false; absent is false).
func wantsCredentials(w http.ResponseWriter, r *http.Request) (bool, bool) {
	switch v := r.URL.Query().Get("credentials"); v {
	case "", "false":
		return false, true
	case "true":
		return true, true
	}
	httpfx.WriteProblem(w, http.StatusBadRequest, "Bad Request", "credentials must be true or false",
		fieldErrors(rpc.FieldError{Field: "query.credentials", Message: "must be true or false"}))
	return false, false
}

// withCredentials decides the credential read, records it and attaches
// the logins the caller may have. It answers false when it has written
// the answer itself (the ledger is down).
func withCredentials(ctx context.Context, w http.ResponseWriter, r *http.Request, az Authz, c Caller,
	req rpc.Request, body json.RawMessage, log *slog.Logger) (rpc.Reply, bool) {
	var env map[string]any
	if err := json.Unmarshal(body, &env); err != nil {
		return rpc.Fail(http.StatusBadGateway, "Bad Gateway", "lifecycle answered an environment that is not JSON"), true
	}
	id := req.Path["id"]
	res := environmentOf(id, env)
	owner, ok := decideCredentials(w, r, az, ownerCredentialsAction, res, log)
	if !ok {
		return rpc.Reply{}, false
	}
	resources, _ := env["resources"].([]any)
	if owner.Allowed {
		attachOwnerLogins(ctx, c, req, resources, log)
		return reEncode(env, body), true
	}
	mine, ok := decideCredentials(w, r, az, grantCredentialsAction, res, log)
	if !ok {
		return rpc.Reply{}, false
	}
	n := 0
	if mine.Allowed {
		n = attachGrantLogins(ctx, c, req, resources, log)
	}
	if n == 0 {
		return rpc.Fail(http.StatusForbidden, "Forbidden", "the owner login of environment "+id+
			" is for maintainers of team "+res.Team+" (in production only with an active just-in-time grant),"+
			" and you hold no grant login on it; ask for one: POST /v1/access-requests"), true
	}
	return reEncode(env, body), true
}

// decideCredentials decides one credential action and records it in the
// audit ledger before anything is handed out.
func decideCredentials(w http.ResponseWriter, r *http.Request, az Authz, action string, res policy.Resource, log *slog.Logger) (policy.Decision, bool) {
	p, _ := PrincipalFrom(r.Context())
	now := time.Now()
	req, used := az.Grants.Apply(policy.Request{Principal: p, Action: action, Resource: res}, now)
	d := az.Decider.Decide(req)
	if d.Allowed {
		az.Grants.Used(used, now)
	}
	return d, record(w, r, az, req, d, credentialsRoute, log)
}

// attachOwnerLogins puts each ready resource's owner login on it.
func attachOwnerLogins(ctx context.Context, c Caller, req rpc.Request, resources []any, log *slog.Logger) {
	for _, item := range resources {
		res, ok := item.(map[string]any)
		if !ok || res["state"] != "ready" {
			continue
		}
		rid, _ := res["id"].(string)
		creq := rpc.Request{Principal: req.Principal, Path: map[string]string{"environment_id": req.Path["id"], "resource_id": rid}}
		rep, err := c.Call(ctx, rpc.ResourceCredentials, creq)
		if err != nil {
			log.WarnContext(ctx, "credentials unavailable", "resource", rid, "error", err)
			continue
		}
		var login map[string]any
		if rep.Status == http.StatusOK && json.Unmarshal(rep.Body, &login) == nil {
			login["kind"] = "owner"
			res["credentials"] = login
		}
	}
}

// attachGrantLogins puts the caller's own grant logins on their
// resources and answers how many it put.
func attachGrantLogins(ctx context.Context, c Caller, req rpc.Request, resources []any, log *slog.Logger) int {
	rep, err := c.Call(ctx, rpc.GrantCredentials, rpc.Request{Principal: req.Principal,
		Query: map[string]string{"environment_id": req.Path["id"]}})
	if err != nil || rep.Status != http.StatusOK {
		log.WarnContext(ctx, "grant logins unavailable", "environment", req.Path["id"], "error", err, "status", rep.Status)
		return 0
	}
	var out struct {
		Items []map[string]any `json:"items"`
	}
	if json.Unmarshal(rep.Body, &out) != nil {
		return 0
	}
	byResource := map[string]map[string]any{}
	for _, l := range out.Items {
		rid, _ := l["resource_id"].(string)
		delete(l, "resource_id")
		delete(l, "driver")
		l["kind"] = "grant"
		byResource[rid] = l
	}
	n := 0
	for _, item := range resources {
		res, ok := item.(map[string]any)
		if !ok {
			continue
		}
		rid, _ := res["id"].(string)
		if l := byResource[rid]; l != nil {
			res["credentials"] = l
			n++
		}
	}
	return n
}

func reEncode(env map[string]any, fallback json.RawMessage) rpc.Reply {
	out, err := json.Marshal(env)
	if err != nil {
		out = fallback
	}
	return rpc.Reply{Status: http.StatusOK, Body: out}
}

// errCaller answers every call with the same error, so a failed call is
// reported the way Forward reports it.
type errCaller struct{ err error }

func (e errCaller) Call(context.Context, string, rpc.Request) (rpc.Reply, error) {
	return rpc.Reply{}, e.err
}
