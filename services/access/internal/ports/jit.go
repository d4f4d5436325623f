package ports

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"net/http"
	"sort"
	"time"

	"github.com/pave-platform/pave/pkg/policy"
	"github.com/pave-platform/pave/pkg/rpc"
	"github.com/pave-platform/pave/services/access/internal/domain"
	"github.com/pave-platform/pave/services/access/internal/jit"
)

// JIT answers just-in-time access, break-glass and access reviews.
type JIT struct {
	Svc *jit.Service
	Log *slog.Logger
}

// Endpoints are the rpc endpoints of JIT.
func (j JIT) Endpoints() []rpc.Endpoint {
	ep := func(name, subject string, h rpc.Handler) rpc.Endpoint {
		return rpc.Endpoint{Name: name, Subject: subject, Handler: h}
	}
	return []rpc.Endpoint{
		ep("requests-create", rpc.AccessRequestsCreate, j.createRequest),
		ep("requests-list", rpc.AccessRequestsList, j.listRequests),
		ep("requests-get", rpc.AccessRequestsGet, j.getRequest),
		ep("requests-approve", rpc.AccessRequestsApprove, j.approve),
		ep("requests-deny", rpc.AccessRequestsDeny, j.deny),
		ep("grants-list", rpc.GrantsList, j.listGrants),
		ep("grants-get", rpc.GrantsGet, j.getGrant),
		ep("grants-revoke", rpc.GrantsRevoke, j.revokeGrant),
		ep("grants-end", rpc.GrantsEnd, j.endGrant),
		ep("break-glass", rpc.BreakGlass, j.breakGlass),
		ep("reviews-create", rpc.AccessReviewsCreate, j.createReview),
		ep("reviews-list", rpc.AccessReviewsList, j.listReviews),
		ep("reviews-get", rpc.AccessReviewsGet, j.getReview),
		ep("reviews-decide", rpc.AccessReviewsDecide, j.decideReview),
		ep("reviews-export", rpc.AccessReviewsExport, j.exportReview),
	}
}

func (j JIT) answer(status int, v any, err error, kind, id string) rpc.Reply {
	var fe *domain.FieldError
	switch {
	case err == nil:
		return rpc.OK(status, v)
	case errors.As(err, &fe):
		return rpc.Invalid(rpc.FieldError{Field: fe.Field, Message: fe.Message})
	case errors.Is(err, jit.ErrNotFound):
		return rpc.NotFound(kind, id)
	case errors.Is(err, jit.ErrSelfApproval):
		return rpc.Fail(http.StatusForbidden, "Forbidden", err.Error())
	case errors.Is(err, jit.ErrConflict):
		return rpc.Fail(http.StatusConflict, "Conflict", err.Error())
	}
	j.Log.Error("access jit", "kind", kind, "id", id, "error", err)
	return rpc.Fail(http.StatusInternalServerError, "Internal error", "the access service failed on this request")
}

// newestFirst pages items newest first with the shared keyset paging:
// the key orders by creation time descending, then id.
func newestFirst[T any](req rpc.Request, items []T, at func(T) time.Time, id func(T) string) rpc.Reply {
	pq, bad := rpc.ParsePage(req.Query)
	if bad != nil {
		return *bad
	}
	key := func(v T) string {
		return fmt.Sprintf("%020d/%s", math.MaxInt64-at(v).UnixNano(), id(v))
	}
	sort.Slice(items, func(i, j int) bool { return key(items[i]) < key(items[j]) })
	return rpc.PageReply(rpc.Page(items, key, pq))
}

func (j JIT) createRequest(ctx context.Context, req rpc.Request) rpc.Reply {
	var in jit.RequestInput
	if r := decode(req, &in); r != nil {
		return *r
	}
	r, err := j.Svc.CreateRequest(ctx, req.Principal, in)
	return j.answer(http.StatusCreated, r, err, "access request", "")
}

func (j JIT) listRequests(_ context.Context, req rpc.Request) rpc.Reply {
	state := req.Query["state"]
	switch state {
	case "", domain.RequestPending, domain.RequestApproved, domain.RequestDenied, domain.RequestExpired:
	default:
		return rpc.Fail(http.StatusBadRequest, "Bad Request", "state: not pending, approved, denied or expired",
			rpc.FieldError{Field: "state", Message: "not pending, approved, denied or expired"})
	}
	switch req.Query["mine"] {
	case "", "true", "false":
	default:
		return rpc.Fail(http.StatusBadRequest, "Bad Request", "mine: must be true or false",
			rpc.FieldError{Field: "mine", Message: "must be true or false"})
	}
	items := j.Svc.Requests(req.Principal, seesAll(req.Principal), req.Query["team"], state)
	if req.Query["mine"] == "true" {
		mine := items[:0]
		for _, r := range items {
			if r.Requester == req.Principal.ID {
				mine = append(mine, r)
			}
		}
		items = mine
	}
	if items == nil {
		items = []domain.Request{}
	}
	return newestFirst(req, items, func(r domain.Request) time.Time { return r.CreatedAt }, func(r domain.Request) string { return r.ID })
}

func (j JIT) getRequest(_ context.Context, req rpc.Request) rpc.Reply {
	r, ok := j.Svc.GetRequest(req.Path["id"])
	if !ok {
		return rpc.NotFound("access request", req.Path["id"])
	}
	return rpc.OK(http.StatusOK, r)
}

type decisionBody struct {
	Reason string `json:"reason"`
}

func (j JIT) approve(ctx context.Context, req rpc.Request) rpc.Reply {
	var in decisionBody
	if len(req.Body) > 0 {
		if r := decode(req, &in); r != nil {
			return *r
		}
	}
	r, err := j.Svc.Approve(ctx, req.Principal, req.Path["id"], in.Reason)
	return j.answer(http.StatusOK, r, err, "access request", req.Path["id"])
}

func (j JIT) deny(ctx context.Context, req rpc.Request) rpc.Reply {
	var in decisionBody
	if r := decode(req, &in); r != nil {
		return *r
	}
	r, err := j.Svc.Deny(ctx, req.Principal, req.Path["id"], in.Reason)
	return j.answer(http.StatusOK, r, err, "access request", req.Path["id"])
}

// GrantView is a grant as the API and pave.access.grants.list show it:
// the fields of the grant events plus its state.
type GrantView struct {
	policy.Grant
	GrantID    string `json:"grant_id"`
	BreakGlass bool   `json:"break_glass"`
	Active     bool   `json:"active"`
}

func viewGrant(g policy.Grant, now time.Time) GrantView {
	return GrantView{Grant: g, GrantID: g.ID, BreakGlass: g.Kind == policy.GrantKindBreakGlass, Active: g.CountsAt(now)}
}

// listGrants answers GET /v1/grants and pave.access.grants.list. A call
// with no principal is another service's (the credentials resync): every
// grant; a person sees their own and their teams' grants.
func (j JIT) listGrants(_ context.Context, req rpc.Request) rpc.Reply {
	q := req.Query
	f := jit.GrantFilter{Team: q["team"], EnvironmentID: q["environment_id"], Principal: q["principal"]}
	switch q["active"] {
	case "", "false":
	case "true":
		f.Active = true
	default:
		return rpc.Fail(http.StatusBadRequest, "Bad Request", "active: must be true or false",
			rpc.FieldError{Field: "active", Message: "must be true or false"})
	}
	if req.Principal.ID != "" && !seesAll(req.Principal) {
		f.Teams, f.Self = append([]string{}, req.Principal.Teams...), req.Principal.ID
	}
	now := time.Now()
	items := []GrantView{}
	for _, g := range j.Svc.Grants(f) {
		items = append(items, viewGrant(g, now))
	}
	if req.Principal.ID == "" && q["limit"] == "" {
		return rpc.OK(http.StatusOK, map[string]any{"items": items})
	}
	return newestFirst(req, items, func(g GrantView) time.Time { return g.CreatedAt }, func(g GrantView) string { return g.ID })
}

func (j JIT) getGrant(_ context.Context, req rpc.Request) rpc.Reply {
	g, ok := j.Svc.Grant(req.Path["id"])
	if !ok {
		return rpc.NotFound("grant", req.Path["id"])
	}
	return rpc.OK(http.StatusOK, viewGrant(g, time.Now()))
}

func (j JIT) revokeGrant(ctx context.Context, req rpc.Request) rpc.Reply {
	g, err := j.Svc.Revoke(ctx, req.Principal, req.Path["id"])
	return j.answer(http.StatusOK, viewGrant(g, time.Now()), err, "grant", req.Path["id"])
}

// endGrant is the holder ending their own grant early.
func (j JIT) endGrant(ctx context.Context, req rpc.Request) rpc.Reply {
	g, err := j.Svc.End(ctx, req.Principal, req.Path["id"])
	if errors.Is(err, jit.ErrNotOwn) {
		return rpc.Fail(http.StatusForbidden, "Forbidden",
			"only the holder ends a grant with /end; a team maintainer revokes it with DELETE /v1/grants/"+req.Path["id"])
	}
	return j.answer(http.StatusOK, viewGrant(g, time.Now()), err, "grant", req.Path["id"])
}

func (j JIT) breakGlass(ctx context.Context, req rpc.Request) rpc.Reply {
	var in jit.BreakGlassInput
	if r := decode(req, &in); r != nil {
		return *r
	}
	g, err := j.Svc.BreakGlass(ctx, req.Principal, in)
	return j.answer(http.StatusCreated, viewGrant(g, time.Now()), err, "grant", "")
}

func (j JIT) createReview(ctx context.Context, req rpc.Request) rpc.Reply {
	var in struct {
		Team     string `json:"team"`
		Deadline string `json:"deadline"`
	}
	if r := decode(req, &in); r != nil {
		return *r
	}
	var deadline time.Time
	if in.Deadline != "" {
		t, err := time.Parse(time.RFC3339, in.Deadline)
		if err != nil {
			return rpc.Invalid(rpc.FieldError{Field: "deadline", Message: "not an RFC 3339 time"})
		}
		deadline = t
	}
	rv, err := j.Svc.CreateReview(ctx, req.Principal, in.Team, deadline)
	return j.answer(http.StatusCreated, rv, err, "access review", "")
}

func (j JIT) listReviews(_ context.Context, req rpc.Request) rpc.Reply {
	var teams []string
	if !seesAll(req.Principal) {
		teams = append([]string{}, req.Principal.Teams...)
	}
	items := j.Svc.Reviews(teams, req.Query["team"])
	if items == nil {
		items = []domain.Review{}
	}
	return newestFirst(req, items, func(r domain.Review) time.Time { return r.CreatedAt }, func(r domain.Review) string { return r.ID })
}

func (j JIT) getReview(_ context.Context, req rpc.Request) rpc.Reply {
	rv, ok := j.Svc.Review(req.Path["id"])
	if !ok {
		return rpc.NotFound("access review", req.Path["id"])
	}
	return rpc.OK(http.StatusOK, rv)
}

func (j JIT) decideReview(ctx context.Context, req rpc.Request) rpc.Reply {
	var in struct {
		ItemID   string `json:"item_id"`
		GrantID  string `json:"grant_id"`
		Decision string `json:"decision"`
	}
	if r := decode(req, &in); r != nil {
		return *r
	}
	if in.ItemID == "" {
		in.ItemID = in.GrantID
	}
	rv, err := j.Svc.DecideReview(ctx, req.Principal, req.Path["id"], in.ItemID, in.Decision)
	return j.answer(http.StatusOK, rv, err, "access review", req.Path["id"])
}

// exportReview is the campaign's result: JSON (the default) or, with
// ?format=csv, {"format":"csv","content":"..."} holding CSV text.
func (j JIT) exportReview(_ context.Context, req rpc.Request) rpc.Reply {
	rv, ok := j.Svc.Review(req.Path["id"])
	if !ok {
		return rpc.NotFound("access review", req.Path["id"])
	}
	switch req.Query["format"] {
	case "", "json":
		return rpc.OK(http.StatusOK, map[string]any{"format": "json", "review": rv})
	case "csv":
		return rpc.OK(http.StatusOK, map[string]any{"format": "csv", "content": jit.ReviewCSV(rv)})
	}
	return rpc.Fail(http.StatusBadRequest, "Bad Request", "format: must be json or csv",
		rpc.FieldError{Field: "format", Message: "must be json or csv"})
}
