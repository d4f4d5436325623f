package ports

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"maps"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/pave-platform/pave/pkg/authn"
	"github.com/pave-platform/pave/pkg/rpc"
	"github.com/pave-platform/pave/services/access/audit"
	"github.com/pave-platform/pave/services/access/internal/app"
	"github.com/pave-platform/pave/services/access/internal/domain"
)

// API is what the access service's rpc endpoints call.
type API struct {
	Identities *app.Identities
	Tokens     *app.Tokens
	Dir        app.Directory
	JS         jetstream.JetStream
	Log        *slog.Logger
	// JIT answers just-in-time access, break-glass and reviews (nil: 501).
	JIT *JIT
	// AuditVerify are the checks of GET /v1/audit/verify beyond the chain
	// (the records' signatures).
	AuditVerify []audit.VerifyOption
}

// ServeAPI answers the access API over rpc.
func ServeAPI(nc *nats.Conn, a API) (*rpc.Server, error) {
	ep := func(name, subject string, h rpc.Handler) rpc.Endpoint {
		return rpc.Endpoint{Name: name, Subject: subject, Handler: h}
	}
	eps := []rpc.Endpoint{
		ep("teams-create", rpc.TeamsCreate, a.createTeam),
		ep("teams-list", rpc.TeamsList, a.listTeams),
		ep("teams-get", rpc.TeamsGet, a.getTeam),
		ep("teams-delete", rpc.TeamsDelete, a.deleteTeam),
		ep("members-list", rpc.MembersList, a.listMembers),
		ep("members-put", rpc.MembersPut, a.putMember),
		ep("members-delete", rpc.MembersDelete, a.deleteMember),
		ep("sa-create", rpc.ServiceAccountsCreate, a.createSA),
		ep("sa-list", rpc.ServiceAccountsList, a.listSAs),
		ep("sa-delete", rpc.ServiceAccountsDelete, a.deleteSA),
		ep("users-roles", rpc.UsersRolesPut, a.putRoles),
		ep("tokens-create", rpc.TokensCreate, a.createToken),
		ep("tokens-list", rpc.TokensList, a.listTokens),
		ep("tokens-revoke", rpc.TokensRevoke, a.revokeToken),
		ep("whoami", rpc.Whoami, func(_ context.Context, req rpc.Request) rpc.Reply { return rpc.OK(http.StatusOK, req.Principal) }),
		ep("audit-query", rpc.AuditQuery, a.queryAudit),
		ep("audit-verify", rpc.AuditVerify, a.verifyAudit),
		ep("not-implemented", rpc.AccessNotImplemented, notImplemented),
	}
	if a.JIT != nil {
		eps = append(eps, a.JIT.Endpoints()...)
	}
	return rpc.Serve(nc, "pave-access-api", "0.3.0", a.Log, eps...)
}

func notImplemented(context.Context, rpc.Request) rpc.Reply {
	return rpc.Fail(http.StatusNotImplemented, "Not Implemented",
		"this access route is not built yet")
}

// answer maps an app error to a reply.
func (a API) answer(status int, v any, err error, kind, id string) rpc.Reply {
	var fe *domain.FieldError
	var le *app.LimitError
	var ce *app.ConflictError
	switch {
	case err == nil:
		return rpc.OK(status, v)
	case errors.As(err, &fe):
		return rpc.Invalid(rpc.FieldError{Field: fe.Field, Message: fe.Message})
	case errors.As(err, &ce):
		var fields []rpc.FieldError
		for _, k := range slices.Sorted(maps.Keys(ce.Fields)) {
			fields = append(fields, rpc.FieldError{Field: k, Message: strings.Join(ce.Fields[k], ", ")})
		}
		return rpc.Fail(http.StatusConflict, "Conflict", ce.Message, fields...)
	case errors.As(err, &le):
		return rpc.Fail(http.StatusConflict, "Conflict", le.Error(), rpc.FieldError{Field: le.Field, Message: le.Message})
	case errors.Is(err, app.ErrNotFound):
		return rpc.NotFound(kind, id)
	case errors.Is(err, app.ErrExists):
		return rpc.Fail(http.StatusConflict, "Conflict", kind+" "+strconv.Quote(id)+" already exists")
	case errors.Is(err, app.ErrForbidden):
		return rpc.Fail(http.StatusForbidden, "Forbidden", "not allowed for "+kind+" "+strconv.Quote(id))
	}
	a.Log.Error("access api", "kind", kind, "error", err)
	return rpc.Fail(http.StatusInternalServerError, "Internal error", "the access service failed on this request")
}

// decode reads the body into v, naming the body when it does not fit.
func decode(req rpc.Request, v any) *rpc.Reply {
	if len(req.Body) == 0 {
		r := rpc.Invalid(rpc.FieldError{Field: "body", Message: "a JSON object is required"})
		return &r
	}
	if err := json.Unmarshal(req.Body, v); err != nil {
		r := rpc.Invalid(rpc.FieldError{Field: "body", Message: "does not match the expected object: " + err.Error()})
		return &r
	}
	return nil
}

func (a API) createTeam(ctx context.Context, req rpc.Request) rpc.Reply {
	var in struct {
		Name string `json:"name"`
	}
	if r := decode(req, &in); r != nil {
		return *r
	}
	t, err := a.Identities.CreateTeam(ctx, req.Principal, in.Name)
	return a.answer(http.StatusCreated, t, err, "team", in.Name)
}

func (a API) listTeams(_ context.Context, req rpc.Request) rpc.Reply {
	out := []domain.Team{}
	for _, t := range a.Dir.Teams() {
		if seesAll(req.Principal) || slices.Contains(req.Principal.Teams, t.Name) {
			out = append(out, t)
		}
	}
	return rpc.OK(http.StatusOK, map[string]any{"items": out})
}

func seesAll(p authn.Principal) bool {
	return p.IsPlatformAdmin() || slices.Contains(p.Roles, authn.RoleAuditor)
}

func (a API) getTeam(_ context.Context, req rpc.Request) rpc.Reply {
	name := req.Path["team"]
	t, ok := a.Dir.Team(name)
	if !ok || !(seesAll(req.Principal) || slices.Contains(req.Principal.Teams, name)) {
		return rpc.NotFound("team", name)
	}
	return rpc.OK(http.StatusOK, map[string]any{"id": t.ID, "name": t.Name, "created_at": t.CreatedAt,
		"members": a.Dir.Members(name), "service_accounts": a.Dir.ServiceAccounts(name)})
}

func (a API) deleteTeam(ctx context.Context, req rpc.Request) rpc.Reply {
	name := req.Path["team"]
	var cascade bool
	switch req.Query["cascade"] {
	case "", "false":
	case "true":
		cascade = true
	default:
		return rpc.Invalid(rpc.FieldError{Field: "query.cascade", Message: "must be true or false"})
	}
	err := a.Identities.DeleteTeam(ctx, req.Principal, name, cascade)
	return a.answer(http.StatusNoContent, nil, err, "team", name)
}

func (a API) listMembers(_ context.Context, req rpc.Request) rpc.Reply {
	name := req.Path["team"]
	if _, ok := a.Dir.Team(name); !ok {
		return rpc.NotFound("team", name)
	}
	return rpc.OK(http.StatusOK, map[string]any{"items": a.Dir.Members(name)})
}

func (a API) putMember(ctx context.Context, req rpc.Request) rpc.Reply {
	var in struct {
		Role string `json:"role"`
	}
	if r := decode(req, &in); r != nil {
		return *r
	}
	m, err := a.Identities.PutMember(ctx, req.Principal, req.Path["team"], req.Path["user"], in.Role)
	return a.answer(http.StatusOK, m, err, "team", req.Path["team"])
}

func (a API) deleteMember(ctx context.Context, req rpc.Request) rpc.Reply {
	err := a.Identities.RemoveMember(ctx, req.Principal, req.Path["team"], req.Path["user"])
	return a.answer(http.StatusNoContent, nil, err, "member", req.Path["user"])
}

func (a API) createSA(ctx context.Context, req rpc.Request) rpc.Reply {
	var in struct {
		Name string `json:"name"`
		Role string `json:"role"`
	}
	if r := decode(req, &in); r != nil {
		return *r
	}
	s, err := a.Identities.CreateServiceAccount(ctx, req.Principal, req.Path["team"], in.Name, in.Role)
	return a.answer(http.StatusCreated, map[string]any{"id": s.ID(), "team": s.Team, "name": s.Name, "role": s.Role,
		"created_at": s.CreatedAt}, err, "service account", req.Path["team"]+"/"+in.Name)
}

func (a API) listSAs(_ context.Context, req rpc.Request) rpc.Reply {
	team := req.Path["team"]
	if _, ok := a.Dir.Team(team); !ok {
		return rpc.NotFound("team", team)
	}
	return rpc.OK(http.StatusOK, map[string]any{"items": a.Dir.ServiceAccounts(team)})
}

func (a API) deleteSA(ctx context.Context, req rpc.Request) rpc.Reply {
	err := a.Identities.DeleteServiceAccount(ctx, req.Principal, req.Path["team"], req.Path["name"])
	return a.answer(http.StatusNoContent, nil, err, "service account", req.Path["team"]+"/"+req.Path["name"])
}

func (a API) putRoles(ctx context.Context, req rpc.Request) rpc.Reply {
	var in struct {
		Roles []string `json:"roles"`
	}
	if r := decode(req, &in); r != nil {
		return *r
	}
	u, err := a.Identities.SetPlatformRoles(ctx, req.Principal, req.Path["user"], in.Roles)
	return a.answer(http.StatusOK, u, err, "user", req.Path["user"])
}

func (a API) createToken(ctx context.Context, req rpc.Request) rpc.Reply {
	var in app.IssueRequest
	if len(req.Body) > 0 {
		if r := decode(req, &in); r != nil {
			return *r
		}
	}
	t, err := a.Tokens.Issue(ctx, req.Principal, in)
	who := in.User + in.ServiceAccount
	return a.answer(http.StatusCreated, t, err, "identity", who)
}

func (a API) listTokens(ctx context.Context, req rpc.Request) rpc.Reply {
	ts, err := a.Tokens.List(ctx, req.Principal, req.Query["subject"])
	return a.answer(http.StatusOK, map[string]any{"items": ts}, err, "subject", req.Query["subject"])
}

func (a API) revokeToken(ctx context.Context, req rpc.Request) rpc.Reply {
	t, err := a.Tokens.Revoke(ctx, req.Principal, req.Path["id"])
	return a.answer(http.StatusOK, t, err, "token", req.Path["id"])
}

// queryAudit answers GET /v1/audit, newest first, a page of limit records
// (default 1000) with next_cursor while older ones remain: teams see their
// own records, auditors and platform admins all.
func (a API) queryAudit(ctx context.Context, req rpc.Request) rpc.Reply {
	q := req.Query
	f := audit.Filter{Team: q["team"], Actor: q["actor"], Action: q["action"], Limit: 1000}
	var errs []rpc.FieldError
	for _, k := range []string{"since", "until"} {
		if q[k] == "" {
			continue
		}
		t, err := time.Parse(time.RFC3339, q[k])
		if err != nil {
			errs = append(errs, rpc.FieldError{Field: "query." + k, Message: "not an RFC 3339 time"})
		}
		if k == "since" {
			f.Since = t
		} else {
			f.Until = t
		}
	}
	if v := q["limit"]; v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > 10000 {
			errs = append(errs, rpc.FieldError{Field: "query.limit", Message: "must be 1..10000"})
		}
		f.Limit = n
	}
	var after audit.Cursor
	if v := q["cursor"]; v != "" {
		c, err := audit.ParseCursor(v)
		if err != nil {
			errs = append(errs, rpc.FieldError{Field: "query.cursor", Message: err.Error()})
		}
		after = c
	}
	if len(errs) > 0 {
		return rpc.Invalid(errs...)
	}
	if !seesAll(req.Principal) {
		f.Teams = append([]string{}, req.Principal.Teams...)
		if f.Team != "" && !slices.Contains(f.Teams, f.Team) {
			return rpc.NotFound("team", f.Team)
		}
	}
	recs, next, err := audit.QueryPage(ctx, a.JS, audit.Stream, f, after)
	if err != nil {
		return a.answer(0, nil, err, "audit", "")
	}
	if recs == nil {
		recs = []audit.Record{}
	}
	page := map[string]any{"items": recs}
	if next != nil {
		page["next_cursor"] = next.String()
	}
	return rpc.OK(http.StatusOK, page)
}

func (a API) verifyAudit(ctx context.Context, _ rpc.Request) rpc.Reply {
	rep, err := audit.Verify(ctx, a.JS, audit.Stream, a.AuditVerify...)
	return a.answer(http.StatusOK, rep, err, "audit", "")
}
