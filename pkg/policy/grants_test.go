package policy_test

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/pave-platform/pave/pkg/authn"
	"github.com/pave-platform/pave/pkg/events"
	"github.com/pave-platform/pave/pkg/policy"
)

func TestGrantsApplyOnlyWhileTheyCoverTheResource(t *testing.T) {
	now := time.Date(2026, 3, 4, 10, 0, 0, 0, time.UTC) // a Wednesday
	windows, err := policy.ParseChangeWindows([]byte("windows:\n  - days: [mon, wed]\n    from: \"09:00\"\n    to: \"17:00\"\n"), "cw.yaml")
	require.NoError(t, err)
	g := policy.NewGrants(windows)
	g.Put(policy.Grant{ID: "g1", Kind: policy.GrantKindAccess, Principal: "dev", Team: "pay", Role: "maintainer",
		Scope: events.GrantScope{Kind: events.GrantScopeStage, Stage: "prod"}, StartsAt: now.Add(-time.Minute),
		ExpiresAt: now.Add(time.Hour), State: policy.GrantActive})
	g.Put(policy.Grant{ID: "g2", Kind: policy.GrantKindAccess, Principal: "dev", Team: "pay", Role: "admin",
		Scope: events.GrantScope{Kind: events.GrantScopeEnvironment, EnvironmentID: "env-x"}, StartsAt: now.Add(time.Hour),
		ExpiresAt: now.Add(2 * time.Hour), State: policy.GrantScheduled})
	dev := authn.Principal{ID: "dev", Kind: authn.KindUser, Teams: []string{"pay"}, TeamRoles: map[string]string{"pay": "developer"}}
	prod := policy.Resource{Type: policy.TypeEnvironment, ID: "env-x", Team: "pay", Stage: "prod"}

	r, used := g.Apply(policy.Request{Principal: dev, Action: "environment:update", Resource: prod}, now)
	assert.True(t, r.Context.JITGrant)
	assert.True(t, r.Context.InChangeWindow)
	assert.Equal(t, "maintainer", r.Principal.TeamRoles["pay"])
	assert.Equal(t, "developer", dev.TeamRoles["pay"], "the caller's principal is not changed")
	assert.Equal(t, []string{"g1"}, used, "g2 has not started")

	r, _ = g.Apply(policy.Request{Principal: dev, Action: "environment:update", Resource: prod}, now.Add(90*time.Minute))
	assert.Equal(t, "admin", r.Principal.TeamRoles["pay"], "the scheduled grant counts from its start")

	dev2 := prod
	dev2.Stage = "dev"
	dev2.ID = "env-y"
	r, used = g.Apply(policy.Request{Principal: dev, Action: "environment:update", Resource: dev2}, now)
	assert.False(t, r.Context.JITGrant)
	assert.Empty(t, used)

	r, _ = g.Apply(policy.Request{Principal: dev, Action: "access-request:review", Resource: policy.TeamResource("pay")}, now)
	assert.Equal(t, "developer", r.Principal.TeamRoles["pay"], "a grant never approves more access")

	other := prod
	other.ID = "env-z"
	r, _ = g.Apply(policy.Request{Principal: dev, Action: "environment:update", Resource: other}, now.Add(time.Hour-time.Nanosecond))
	assert.True(t, r.Context.JITGrant, "g1 counts until its expiry")
	r, _ = g.Apply(policy.Request{Principal: dev, Action: "environment:update", Resource: other}, now.Add(time.Hour))
	assert.False(t, r.Context.JITGrant, "g1 stops counting at its expiry")
	r, _ = g.Apply(policy.Request{Principal: dev, Action: "environment:update", Resource: other}, now.Add(8*time.Hour))
	assert.False(t, r.Context.InChangeWindow, "18:00 is outside the window")
}

func TestChangeWindows(t *testing.T) {
	w, err := policy.ParseChangeWindows([]byte("windows:\n  - days: [fri]\n    from: \"08:00\"\n    to: \"12:00\"\n"), "cw.yaml")
	require.NoError(t, err)
	fri := time.Date(2026, 3, 6, 8, 0, 0, 0, time.UTC)
	assert.True(t, w.Contains(fri))
	assert.False(t, w.Contains(fri.Add(4*time.Hour)), "the end is outside")
	assert.False(t, w.Contains(fri.Add(24*time.Hour)), "not on saturday")
	assert.True(t, w.Contains(fri.In(time.FixedZone("x", 3600))), "any zone: windows are UTC")
	for _, bad := range []string{"windows:\n  - days: [funday]\n    from: \"08:00\"\n    to: \"12:00\"\n",
		"windows:\n  - days: [mon]\n    from: \"8am\"\n    to: \"12:00\"\n",
		"windows:\n  - days: [mon]\n    from: \"12:00\"\n    to: \"08:00\"\n"} {
		_, err := policy.ParseChangeWindows([]byte(bad), "cw.yaml")
		var pe *policy.PolicyError
		assert.ErrorAs(t, err, &pe, bad)
	}
}

// The shipped policy: promoting to production outside a change window
// needs an incident grant.
func TestPromotingToProductionOutsideAWindowNeedsAnIncident(t *testing.T) {
	p, err := policy.Load(policy.Config{PoliciesDir: "../../deploy/policies"})
	require.NoError(t, err)
	e := policy.New(p)
	m := authn.Principal{ID: "m", Kind: authn.KindUser, Teams: []string{"pay"}, TeamRoles: map[string]string{"pay": "maintainer"}}
	req := policy.Request{Principal: m, Action: "environment:promote",
		Resource: policy.Resource{Type: policy.TypeEnvironment, ID: "e", Team: "pay", Stage: "prod"}}
	d := e.Decide(req)
	assert.False(t, d.Allowed)
	assert.Equal(t, []string{"production-promotion-outside-change-window"}, d.Policies)
	req.Context.InChangeWindow = true
	assert.True(t, e.Decide(req).Allowed)
	req.Context = policy.Context{Incident: true}
	assert.True(t, e.Decide(req).Allowed)
	req.Resource.Stage = "staging"
	req.Context = policy.Context{}
	assert.True(t, e.Decide(req).Allowed, "other stages need no window")
}

// Attack (issue 16, finding 2): a developer holding an admin grant — from
// break-glass or an approved request — tries every identity and governance
// action: making himself a permanent admin, creating a service account,
// minting tokens, writing budgets and quotas, running reviews. Grants never
// count there, so every one is refused; the same grant still counts for
// everyday production work.
func TestAttackGrantsNeverReachIdentityOrGovernance(t *testing.T) {
	e := shipped(t)
	now := time.Date(2026, 3, 4, 10, 0, 0, 0, time.UTC)
	g := policy.NewGrants(nil)
	for _, kind := range []string{policy.GrantKindBreakGlass, policy.GrantKindAccess} {
		g.Put(policy.Grant{ID: "g-" + kind, Kind: kind, Principal: "dev", Team: "pay", Role: "admin",
			Scope: events.GrantScope{Kind: events.GrantScopeTeam}, StartsAt: now.Add(-time.Minute),
			ExpiresAt: now.Add(time.Hour), State: policy.GrantActive})
	}
	dev := member("dev", "pay", "developer")
	for _, action := range []string{"member:write", "service-account:write", "token:issue", "budget:write",
		"application:write", "access-request:review", "grant:revoke", "access-review:create", "access-review:decide"} {
		r, used := g.Apply(policy.Request{Principal: dev, Action: action, Resource: policy.TeamResource("pay")}, now)
		assert.Equal(t, "developer", r.Principal.TeamRoles["pay"], action)
		assert.Empty(t, used, action)
		assert.False(t, e.Decide(r).Allowed, "%s must not be allowed through a grant", action)
	}
	for _, action := range []string{"team:create", "team:delete", "quota:write", "pool:write", "platform-role:write", "token:issue-any"} {
		r, _ := g.Apply(policy.Request{Principal: dev, Action: action, Resource: policy.PlatformResource}, now)
		assert.False(t, e.Decide(r).Allowed, action)
	}
	prod := policy.Resource{Type: policy.TypeEnvironment, ID: "env-p", Team: "pay", Stage: "prod"}
	r, used := g.Apply(policy.Request{Principal: dev, Action: "environment:update", Resource: prod}, now)
	assert.True(t, e.Decide(r).Allowed, "the grant still counts for production work")
	assert.Len(t, used, 2)
}

// Every action of the governance groups in the shipped schema is one
// grants never reach (a new action there must join the list).
func TestNeverElevatedCoversTheGovernanceGroups(t *testing.T) {
	for _, dir := range []string{"", "../../deploy/policies"} {
		p, err := policy.Load(policy.Config{PoliciesDir: dir})
		require.NoError(t, err)
		for _, group := range policy.GovernanceGroups {
			actions := p.ActionsIn(group)
			require.NotEmpty(t, actions, group)
			for _, a := range actions {
				assert.True(t, policy.NeverElevated(a), "%s (in %s) must never be elevated by a grant", a, group)
			}
		}
	}
}
