package ports

import "github.com/pave-platform/pave/pkg/rpc"

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
	// Not built yet: the access service answers 501.
	{"POST /v1/access-requests", rpc.AccessNotImplemented, nil},
	{"GET /v1/access-requests", rpc.AccessNotImplemented, nil},
	{"POST /v1/access-requests/{id}/approve", rpc.AccessNotImplemented, []string{"id"}},
	{"POST /v1/break-glass", rpc.AccessNotImplemented, nil},
	{"GET /v1/access-reviews", rpc.AccessNotImplemented, nil},
	{"POST /v1/access-reviews", rpc.AccessNotImplemented, nil},
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
	"POST /v1/access-requests":                        onPlatform("access-request:own"),
	"GET /v1/access-requests":                         onPlatform("access-request:own"),
	"POST /v1/access-requests/{id}/approve":           onPlatform("access-request:own"),
	"POST /v1/break-glass":                            onPlatform("access-request:own"),
	"GET /v1/access-reviews":                          onPlatform("access-request:own"),
	"POST /v1/access-reviews":                         onPlatform("access-request:own"),
}
