package ports

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/pave-platform/pave/pkg/authn"
	"github.com/pave-platform/pave/pkg/bus"
	"github.com/pave-platform/pave/pkg/events"
	"github.com/pave-platform/pave/pkg/policy"
	"github.com/pave-platform/pave/pkg/schema"
	"github.com/pave-platform/pave/pkg/testkit"
)

// The gateway's grant index is built from access's grant events only: a
// process that starts after the events replays them, a grant's end takes
// it out, a teardown approval counts as the second approval, and a grant
// already over is not indexed.
func TestGrantIndexFollowsAccessGrantEvents(t *testing.T) {
	nc := testkit.NATS(t).Conn(t)
	reg, err := schema.Default()
	require.NoError(t, err)
	b, err := bus.New(nc, reg, schema.SubjectFor)
	require.NoError(t, err)
	ctx := context.Background()
	so := bus.DefaultStreamOptions()
	require.NoError(t, bus.EnsureStreams(ctx, b.JetStream(), append(bus.CoreStreams(so), bus.ServiceStreams("access", so)...)...))
	publish := func(id, typ string, data any) {
		t.Helper()
		e, err := bus.NewEvent(id, "pave/access", typ, data)
		require.NoError(t, err)
		require.NoError(t, b.Publish(ctx, e))
	}
	now := time.Now().UTC()
	env := events.GrantScope{Kind: events.GrantScopeEnvironment, EnvironmentID: "env-abcdefghijkl"}
	publish("grt-1.activated", events.TypeGrantActivated, events.GrantActivated{GrantID: "grt-1", Principal: "alice",
		Team: "payments", Role: "maintainer", Scope: env, StartsAt: now.Add(-time.Minute), ExpiresAt: now.Add(time.Hour)})
	publish("grt-2.teardown-approved", events.TypeTeardownApproved, events.TeardownApproved{GrantID: "grt-2",
		Principal: "alice", Team: "payments", Scope: env, StartsAt: now.Add(-time.Minute), ExpiresAt: now.Add(time.Hour)})
	publish("grt-3.activated", events.TypeGrantActivated, events.GrantActivated{GrantID: "grt-3", Principal: "bob",
		Team: "payments", Role: "maintainer", Scope: env, StartsAt: now.Add(-2 * time.Hour), ExpiresAt: now.Add(-time.Hour)})

	start := func() *policy.Grants {
		t.Helper()
		idx := policy.NewGrants(nil)
		r := bus.NewRouter(b)
		r.Handle(GrantIndexSpec(), GrantIndex(idx))
		require.NoError(t, r.Start(ctx))
		t.Cleanup(func() { _ = r.Stop(context.Background()) })
		return idx
	}
	alice := authn.Principal{ID: "alice", Kind: "user", Teams: []string{"payments"}, TeamRoles: map[string]string{"payments": "viewer"}}
	req := policy.Request{Principal: alice, Action: "environment:delete",
		Resource: policy.Resource{Type: policy.TypeEnvironment, ID: "env-abcdefghijkl", Team: "payments"}}
	applied := func(idx *policy.Grants) (role string, second bool, used int) {
		r, u := idx.Apply(req, time.Now())
		return r.Principal.TeamRoles["payments"], r.Context.SecondApproval, len(u)
	}

	first := start()
	require.Eventually(t, func() bool { return first.Len() == 2 }, 20*time.Second, 20*time.Millisecond,
		"the index replays grt-1 and grt-2 (and not the expired grt-3); it holds %d", first.Len())
	role, second, used := applied(first)
	assert.Equal(t, "maintainer", role, "the access grant raises alice to maintainer")
	assert.True(t, second, "the teardown approval is the second approval")
	assert.Equal(t, 2, used)
	assert.Empty(t, first.Active("bob", time.Now()), "a grant already over is not indexed")

	publish("grt-1.revoked", events.TypeGrantRevoked, events.GrantRevoked{GrantID: "grt-1", Principal: "alice",
		Team: "payments", Role: "maintainer", Scope: env, Reason: events.GrantRevokedRevoked, RevokedAt: now, By: "carol"})
	publish("grt-2.teardown-ended", events.TypeTeardownEnded, events.TeardownEnded{GrantID: "grt-2", Principal: "alice",
		Team: "payments", Scope: env, Reason: events.GrantRevokedRevoked, EndedAt: now, By: "carol"})
	require.Eventually(t, func() bool { return first.Len() == 0 }, 20*time.Second, 20*time.Millisecond,
		"the ends take grt-1 and grt-2 out; the index holds %d", first.Len())
	role, second, used = applied(first)
	assert.Equal(t, "viewer", role, "without the grant alice is a viewer again")
	assert.False(t, second)
	assert.Zero(t, used)

	// Another gateway process starting now has its own consumer and
	// rebuilds the same (empty) index from the whole stream.
	later := start()
	publish("grt-4.activated", events.TypeGrantActivated, events.GrantActivated{GrantID: "grt-4", Principal: "alice",
		Team: "payments", Role: "developer", Scope: env, StartsAt: now, ExpiresAt: now.Add(time.Hour)})
	for name, idx := range map[string]*policy.Grants{"first": first, "later": later} {
		require.Eventually(t, func() bool { return len(idx.Active("alice", time.Now())) == 1 }, 20*time.Second, 20*time.Millisecond,
			"the %s process indexes grt-4 and nothing that ended", name)
	}
}
