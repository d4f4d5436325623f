package ports

import (
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/pave-platform/pave/pkg/policy"
)

// explicitRoute finds the routes API registers by hand (mux.Handle and
// mux.HandleFunc with a literal pattern) in this package's sources.
var explicitRoute = regexp.MustCompile(`mux\.Handle(?:Func)?\("([^"]+)"`)

func registeredRoutes(t *testing.T) []string {
	t.Helper()
	var out []string
	for _, rt := range slices.Concat(routeGroups...) {
		out = append(out, rt.pattern)
	}
	files, err := filepath.Glob("*.go")
	require.NoError(t, err)
	for _, f := range files {
		raw, err := os.ReadFile(f)
		require.NoError(t, err)
		for _, m := range explicitRoute.FindAllStringSubmatch(string(raw), -1) {
			out = append(out, m[1])
		}
	}
	return out
}

// Every route the gateway serves has an action and a resource: a route
// added without one would be denied to everybody, so this fails first.
func TestEveryRouteIsMappedToAnAction(t *testing.T) {
	routes := registeredRoutes(t)
	require.Greater(t, len(routes), 40)
	for _, pattern := range routes {
		assert.Contains(t, routeRules, pattern, "route %q has no entry in routeRules (routes.go)", pattern)
	}
	for pattern := range routeRules {
		assert.Contains(t, routes, pattern, "routeRules has %q, which no route registers", pattern)
	}
}

// Every action the table names is declared in the shipped Cedar schema,
// so no route is denied by a typo.
func TestEveryMappedActionIsInTheSchema(t *testing.T) {
	p, err := policy.Load(policy.Config{PoliciesDir: "../../../../deploy/policies"})
	require.NoError(t, err)
	for _, a := range []string{"template:read", "environment:create", "environment:read", "environment:update",
		"environment:delete", "team:read", "workload:submit", "workload:read", "workload:cancel", "pool:read",
		"pool:write", "quota:read", "quota:write", "cost:estimate", "cost:read", "budget:read", "budget:write",
		"ratecard:read", "event-type:read", "platform:list", "team:create", "team:delete", "member:read",
		"member:write", "service-account:write", "service-account:read", "platform-role:write", "token:own",
		"token:issue", "token:issue-any", "audit:read", "audit:verify", "access-request:own",
		"environment:promote", "promotion:read", "promotion:approve", "application:write", "event:ingest",
		"access-request:create", "access-request:read", "access-request:review", "grant:read", "grant:revoke",
		"break-glass:activate", "access-review:create", "access-review:read", "access-review:decide",
		ownerCredentialsAction, grantCredentialsAction,
		"subscription:read", "subscription:write", "subscription:platform", "alert:read", "alert:ack",
		"alert:platform", "event:stream", "event:stream-all"} {
		assert.True(t, p.HasAction(a), a)
	}
	assert.False(t, p.HasAction(unmappedAction), "an unmapped route can never be permitted")
}
