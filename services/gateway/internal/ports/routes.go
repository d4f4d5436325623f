package ports

import "github.com/pave-platform/pave/pkg/rpc"

// accessRoutes are answered by the access service; API registers them
// with the forwarded ones.
var accessRoutes = []struct {
	pattern, subject string
	keys             []string
}{
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

// routeRules maps every registered route pattern to its action and
// resource. A pattern missing here is denied (routes_test.go fails first).
var routeRules = map[string]resolver{
	"GET /v1/templates":                               onPlatform("template:read"),
	"GET /v1/templates/{name}":                        onPlatform("template:read"),
	"POST /v1/environments":                           newEnvironment,
	"GET /v1/environments":                            onTeamQuery("team:read"),
	"GET /v1/environments/{id}":                       onEnvironment("environment:read"),
	"PATCH /v1/environments/{id}":                     onEnvironment("environment:update"),
	"DELETE /v1/environments/{id}":                    onEnvironment("environment:delete"),
	"POST /v1/environments/{id}/extend":               onEnvironment("environment:update"),
	"POST /v1/workloads":                              onTeamBody("workload:submit"),
	"GET /v1/workloads":                               onTeamQuery("team:read"),
	"GET /v1/workloads/{id}":                          onWorkload("workload:read"),
	"DELETE /v1/workloads/{id}":                       onWorkload("workload:cancel"),
	"GET /v1/pools":                                   onPlatform("pool:read"),
	"GET /v1/pools/{name}":                            onPlatform("pool:read"),
	"PUT /v1/pools/{name}":                            onPlatform("pool:write"),
	"GET /v1/quotas/{team}":                           onTeamPath("quota:read"),
	"PUT /v1/quotas/{team}":                           onPlatform("quota:write"),
	"POST /v1/costs/estimate":                         onTeamBodyOrPlatform("cost:estimate"),
	"GET /v1/costs":                                   onTeamQuery("cost:read"),
	"GET /v1/costs/export":                            onTeamQuery("cost:read"),
	"GET /v1/budgets":                                 onTeamQuery("budget:read"),
	"GET /v1/budgets/{team}":                          onTeamPath("budget:read"),
	"PUT /v1/budgets/{team}":                          onTeamPath("budget:write"),
	"GET /v1/ratecards":                               onPlatform("ratecard:read"),
	"GET /v1/events/types":                            onPlatform("event-type:read"),
	"/v1/":                                            onPlatform("platform:list"), // unknown routes: 404
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
