package ports

import (
	"log/slog"
	"net/http"

	"github.com/pave-platform/pave/pkg/policy"
	"github.com/pave-platform/pave/pkg/rpc"
)

// accessRoutes are answered by the access service; API registers them
// with the forwarded ones.
var accessRoutes = []route{
	{"POST /v1/teams", rpc.TeamsCreate, nil},
	{"GET /v1/teams", rpc.TeamsList, nil},
	{"GET /v1/teams/{team}", rpc.TeamsGet, []string{"team"}},
	{"DELETE /v1/teams/{team}", rpc.TeamsDelete, []string{"team"}},
	{"GET /v1/teams/{team}/members", rpc.MembersList, []string{"team"}},
	{"PUT /v1/teams/{team}/members/{user}", rpc.MembersPut, []string{"team", "user"}},
	{"DELETE /v1/teams/{team}/members/{user}", rpc.MembersDelete, []string{"team", "user"}},
	{"POST /v1/teams/{team}/service-accounts", rpc.ServiceAccountsCreate, []string{"team"}},
	{"GET /v1/teams/{team}/service-accounts", rpc.ServiceAccountsList, []string{"team"}},
	{"DELETE /v1/teams/{team}/service-accounts/{name}", rpc.ServiceAccountsDelete, []string{"team", "name"}},
	{"PUT /v1/users/{user}/roles", rpc.UsersRolesPut, []string{"user"}},
	{"POST /v1/tokens", rpc.TokensCreate, nil},
	{"GET /v1/tokens", rpc.TokensList, nil},
	{"DELETE /v1/tokens/{id}", rpc.TokensRevoke, []string{"id"}},
	{"GET /v1/whoami", rpc.Whoami, nil},
	{"GET /v1/audit", rpc.AuditQuery, nil},
	{"GET /v1/audit/verify", rpc.AuditVerify, nil},
	// Just-in-time access, break-glass and access reviews.
	{"POST /v1/access-requests", rpc.AccessRequestsCreate, nil},
	{"GET /v1/access-requests", rpc.AccessRequestsList, nil},
	{"GET /v1/access-requests/{id}", rpc.AccessRequestsGet, []string{"id"}},
	{"POST /v1/access-requests/{id}/approve", rpc.AccessRequestsApprove, []string{"id"}},
	{"POST /v1/access-requests/{id}/deny", rpc.AccessRequestsDeny, []string{"id"}},
	{"GET /v1/grants", rpc.GrantsList, nil},
	{"GET /v1/grants/{id}", rpc.GrantsGet, []string{"id"}},
	{"DELETE /v1/grants/{id}", rpc.GrantsRevoke, []string{"id"}},
	{"POST /v1/grants/{id}/end", rpc.GrantsEnd, []string{"id"}},
	{"POST /v1/break-glass", rpc.BreakGlass, nil},
	{"GET /v1/access-reviews", rpc.AccessReviewsList, nil},
	{"POST /v1/access-reviews", rpc.AccessReviewsCreate, nil},
	{"GET /v1/access-reviews/{id}", rpc.AccessReviewsGet, []string{"id"}},
	{"POST /v1/access-reviews/{id}/decisions", rpc.AccessReviewsDecide, []string{"id"}},
	{"GET /v1/access-reviews/{id}/export", rpc.AccessReviewsExport, []string{"id"}},
}

// accessRules are the access routes' actions and resources.
var accessRules = map[string]resolver{
	"POST /v1/teams":                                  onPlatform("team:create"),
	"GET /v1/teams":                                   onPlatform("platform:list"),
	"GET /v1/teams/{team}":                            onTeamPath("team:read"),
	"DELETE /v1/teams/{team}":                         onPlatform("team:delete"),
	"GET /v1/teams/{team}/members":                    onTeamPath("member:read"),
	"PUT /v1/teams/{team}/members/{user}":             onTeamPath("member:write"),
	"DELETE /v1/teams/{team}/members/{user}":          onTeamPath("member:write"),
	"POST /v1/teams/{team}/service-accounts":          onTeamPath("service-account:write"),
	"GET /v1/teams/{team}/service-accounts":           onTeamPath("service-account:read"),
	"DELETE /v1/teams/{team}/service-accounts/{name}": onTeamPath("service-account:write"),
	"PUT /v1/users/{user}/roles":                      onPlatform("platform-role:write"),
	"POST /v1/tokens":                                 onTokenIssue,
	"GET /v1/tokens":                                  onPlatform("token:own"),
	"DELETE /v1/tokens/{id}":                          onPlatform("token:own"),
	"GET /v1/whoami":                                  onPlatform("token:own"),
	"GET /v1/audit":                                   onTeamQuery("audit:read"),
	"GET /v1/audit/verify":                            onPlatform("audit:verify"),
	// A request, grant or review of another team answers 404 (the
	// lookup's team decides membership); lists without ?team= are
	// filtered by the access service to the caller's teams and own.
	"POST /v1/access-requests":               onScopeTeam("access-request:create"),
	"GET /v1/access-requests":                onTeamQuery("access-request:read"),
	"GET /v1/access-requests/{id}":           onTeamObject(rpc.AccessRequestsGet, "access request", "access-request:read"),
	"POST /v1/access-requests/{id}/approve":  onTeamObject(rpc.AccessRequestsGet, "access request", "access-request:review"),
	"POST /v1/access-requests/{id}/deny":     onTeamObject(rpc.AccessRequestsGet, "access request", "access-request:review"),
	"GET /v1/grants":                         onTeamQuery("grant:read"),
	"GET /v1/grants/{id}":                    onTeamObject(rpc.GrantsGet, "grant", "grant:read"),
	"DELETE /v1/grants/{id}":                 onTeamObject(rpc.GrantsGet, "grant", "grant:revoke"),
	"POST /v1/grants/{id}/end":               onTeamObject(rpc.GrantsGet, "grant", "grant:end"),
	"POST /v1/break-glass":                   onScopeTeam("break-glass:activate"),
	"GET /v1/access-reviews":                 onTeamQuery("access-review:read"),
	"POST /v1/access-reviews":                onTeamBody("access-review:create"),
	"GET /v1/access-reviews/{id}":            onTeamObject(rpc.AccessReviewsGet, "access review", "access-review:read"),
	"POST /v1/access-reviews/{id}/decisions": onTeamObject(rpc.AccessReviewsGet, "access review", "access-review:decide"),
	"GET /v1/access-reviews/{id}/export":     onTeamObject(rpc.AccessReviewsGet, "access review", "access-review:read"),
}

// onTeamObject: an access object (request, grant, review) looked up by id;
// its team decides.
func onTeamObject(subject, kind, action string) resolver {
	return lookup(subject, kind, func(_ string, v map[string]any) policy.Resource {
		return policy.TeamResource(stringField(v, "team"))
	}, action)
}

// onScopeTeam: the team named in the body's scope ("scope.team" is required).
func onScopeTeam(action string) resolver {
	return func(w http.ResponseWriter, r *http.Request, _ Caller, _ *slog.Logger) (target, bool) {
		body, ok := peekBody(w, r)
		if !ok {
			return target{}, false
		}
		scope, _ := body["scope"].(map[string]any)
		team := stringField(scope, "team")
		if team == "" {
			WriteReply(w, nil, rpc.Invalid(rpc.FieldError{Field: "scope.team", Message: "is required"}))
			return target{}, false
		}
		return target{action: action, resource: policy.TeamResource(team)}, true
	}
}
