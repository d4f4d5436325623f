package jit_test

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/pave-platform/pave/pkg/events"
	"github.com/pave-platform/pave/pkg/policy"
	"github.com/pave-platform/pave/services/access/internal/domain"
	"github.com/pave-platform/pave/services/access/internal/jit"
)

// Attack (issue 16, finding 2): a developer breaks the glass as admin of
// the whole team, or asks for admin just in time. Both are refused naming
// the field; the configured default is a maintainer of one environment or
// one stage.
func TestAttackBreakGlassAndRequestsRefuseAdminAndTeamWideRoles(t *testing.T) {
	e := start(t, jit.Config{})
	ctx := context.Background()
	tests := []struct {
		name  string
		in    jit.BreakGlassInput
		field string
	}{
		{"admin", jit.BreakGlassInput{Role: "admin", Scope: jit.ScopeInput{Team: "pay", Stage: "prod"}}, "role"},
		{"team-wide", jit.BreakGlassInput{Scope: jit.ScopeInput{Team: "pay"}}, "scope"},
		{"team-wide maintainer", jit.BreakGlassInput{Role: "maintainer", Scope: jit.ScopeInput{Team: "pay"}}, "scope"},
	}
	for _, tt := range tests {
		tt.in.IncidentID, tt.in.Reason = "INC-7", "outage"
		_, err := e.svc.BreakGlass(ctx, alice, tt.in)
		var fe *domain.FieldError
		require.ErrorAs(t, err, &fe, tt.name)
		assert.Equal(t, tt.field, fe.Field, tt.name)
	}
	_, err := e.svc.CreateRequest(ctx, alice, jit.RequestInput{Role: "admin", Scope: jit.ScopeInput{Team: "pay"},
		Duration: "1h", Reason: "add myself as admin"})
	var fe *domain.FieldError
	require.ErrorAs(t, err, &fe)
	assert.Equal(t, "role", fe.Field)
	assert.Empty(t, e.svc.Grants(jit.GrantFilter{}), "nothing granted")
	assert.Empty(t, e.svc.Requests(alice, true, "", ""), "nothing stored")

	g, err := e.svc.BreakGlass(ctx, alice, jit.BreakGlassInput{IncidentID: "INC-7", Reason: "outage",
		Scope: jit.ScopeInput{Team: "pay", EnvironmentID: "env-db"}})
	require.NoError(t, err)
	assert.Equal(t, "maintainer", g.Role)
	assert.Equal(t, events.GrantScopeEnvironment, g.Scope.Kind)
}

// Break-glass roles come from configuration, validated at the start.
func TestBreakGlassRolesAreConfigured(t *testing.T) {
	for _, bad := range []string{"admin@stage", "maintainer@galaxy", "maintainer", ","} {
		err := jit.Config{Approvals: 1, BreakGlassRoles: bad}.Validate()
		require.Error(t, err, bad)
		assert.Contains(t, err.Error(), "PAVE_ACCESS_BREAK_GLASS_ROLES", bad)
	}
	e := start(t, jit.Config{BreakGlassRoles: "developer@team"})
	g, err := e.svc.BreakGlass(context.Background(), alice, jit.BreakGlassInput{IncidentID: "INC-8", Reason: "outage",
		Scope: jit.ScopeInput{Team: "pay"}})
	require.NoError(t, err)
	assert.Equal(t, "developer", g.Role, "the only configured role is the default")
}

// Finding 2 and 11: every break-glass opens a review that someone other
// than the holder decides; the holder can end the grant early, and nobody
// else can with that route.
func TestAttackBreakGlassIsReviewedByAnotherAndEndedByItsHolder(t *testing.T) {
	e := start(t, jit.Config{})
	ctx := context.Background()
	g, err := e.svc.BreakGlass(ctx, bob, jit.BreakGlassInput{IncidentID: "INC-9", Reason: "db down",
		Scope: jit.ScopeInput{Team: "pay", Stage: "prod"}, Duration: "30m"})
	require.NoError(t, err)
	reviews := e.svc.Reviews(nil, "pay")
	require.Len(t, reviews, 1, "the break-glass opened a review")
	rv := reviews[0]
	assert.Equal(t, "break_glass:"+g.ID, rv.Trigger)
	require.Len(t, rv.Items, 1)
	assert.Equal(t, g.ID, rv.Items[0].ID)

	// The maintainer who broke the glass tries to keep his own grant.
	_, err = e.svc.DecideReview(ctx, bob, rv.ID, g.ID, domain.Keep)
	require.ErrorIs(t, err, jit.ErrSelfApproval)
	got, _ := e.svc.Review(rv.ID)
	assert.Empty(t, got.Items[0].Decision, "a self-decision changes nothing")

	_, err = e.svc.End(ctx, carol, g.ID)
	require.ErrorIs(t, err, jit.ErrNotOwn, "only the holder ends it with End")
	ended, err := e.svc.End(ctx, bob, g.ID)
	require.NoError(t, err)
	assert.Equal(t, policy.GrantEnded, ended.State)
	assert.Equal(t, "bob", ended.EndedBy)
	rev := e.events(t, events.TypeGrantRevoked, 1)[0]
	assert.Equal(t, "bob", rev["by"])
	applied, _ := e.index.Apply(policy.Request{Principal: bob, Action: "environment:promote", Resource: prodEnv("env-1")}, time.Now())
	assert.False(t, applied.Context.Incident, "the ended grant no longer counts")

	_, err = e.svc.DecideReview(ctx, carol, rv.ID, g.ID, domain.Keep)
	require.NoError(t, err, "another maintainer decides")
}
