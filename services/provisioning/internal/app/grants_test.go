package app_test

import (
	"context"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/pave-platform/pave/pkg/events"
	"github.com/pave-platform/pave/services/provisioning/internal/adapters"
	"github.com/pave-platform/pave/services/provisioning/internal/app"
	"github.com/pave-platform/pave/services/provisioning/internal/domain"
)

func (f *fixture) grants(t *testing.T) *app.Grants {
	t.Helper()
	store, err := adapters.NewKVGrants(context.Background(), f.js, 1)
	require.NoError(t, err)
	return &app.Grants{Store: store, Ledger: f.ledger, Drivers: f.drivers, Sealer: f.deps.Sealer, Publisher: f.pub}
}

// grantRoles lists the paveg_ roles that really exist.
func (f *fixture) grantRoles(t *testing.T) []string {
	t.Helper()
	names, err := f.pg.GrantNames(context.Background())
	require.NoError(t, err)
	return names
}

func activated(id string) events.GrantActivated {
	return events.GrantActivated{GrantID: id, Principal: "alice", Team: "payments", Role: "developer",
		Scope: events.GrantScope{Kind: "team"}, StartsAt: time.Now(), ExpiresAt: time.Now().Add(time.Hour)}
}

func revoked(id string) events.GrantRevoked {
	return events.GrantRevoked{GrantID: id, Principal: "alice", Team: "payments", Role: "developer",
		Scope: events.GrantScope{Kind: "team"}, Reason: "revoked", RevokedAt: time.Now()}
}

func syncCmd() events.CredentialsSyncCommand {
	return events.CredentialsSyncCommand{Saga: saga("issue-credentials"), EnvironmentID: "env1", Team: "payments"}
}

func TestGrantLoginsExistOnlyWhileTheEnvironmentTakesThem(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	require.NoError(t, f.provision(t, "p1", "env1-db", nil))
	g := f.grants(t)

	require.NoError(t, g.Activated(ctx, activated("grt-early")))
	assert.Empty(t, f.grantRoles(t), "an environment that is not ready gets no login")

	require.NoError(t, g.Sync(ctx, "c1", syncCmd()))
	synced := data[events.CredentialsSynced](t, f.pub.last(t))
	assert.Equal(t, 1, synced.Issued, "a grant activated before the environment was ready is issued at sync")
	assert.Len(t, f.grantRoles(t), 1)
	require.NoError(t, g.Sync(ctx, "c2", syncCmd()))
	assert.Len(t, f.grantRoles(t), 1, "a repeated sync issues nothing twice")

	require.NoError(t, g.Revoke(ctx, "c3", events.CredentialsRevokeCommand{Saga: saga("revoke-grants"), EnvironmentID: "env1"}))
	assert.Equal(t, 1, data[events.CredentialsRevoked](t, f.pub.last(t)).Revoked)
	assert.Empty(t, f.grantRoles(t))
	require.NoError(t, g.Activated(ctx, activated("grt-late")))
	assert.Empty(t, f.grantRoles(t), "a torn-down environment takes no new login")
}

func TestARevocationThatArrivesFirstWins(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	require.NoError(t, f.provision(t, "p1", "env1-db", nil))
	g := f.grants(t)
	require.NoError(t, g.Sync(ctx, "c1", syncCmd()))

	require.NoError(t, g.Revoked(ctx, revoked("grt-1")))
	require.NoError(t, g.Activated(ctx, activated("grt-1")))

	assert.Empty(t, f.grantRoles(t), "a late activation of a revoked grant grants nothing")
	logins, err := g.Mine(ctx, "alice", "env1")
	require.NoError(t, err)
	assert.Empty(t, logins)
}

func TestOnlyTheGranteeReadsItsLogin(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	require.NoError(t, f.provision(t, "p1", "env1-db", nil))
	g := f.grants(t)
	require.NoError(t, g.Activated(ctx, activated("grt-1")))
	require.NoError(t, g.Sync(ctx, "c1", syncCmd()))

	mine, err := g.Mine(ctx, "alice", "env1")
	require.NoError(t, err)
	require.Len(t, mine, 1)
	assert.Equal(t, "grt-1", mine[0].GrantID)
	conn, err := pgx.Connect(ctx, mine[0].Credentials.URL)
	require.NoError(t, err)
	require.NoError(t, conn.Close(ctx))
	for _, who := range []struct{ principal, env string }{{"bob", "env1"}, {"alice", "env2"}} {
		other, err := g.Mine(ctx, who.principal, who.env)
		require.NoError(t, err)
		assert.Empty(t, other, "%s on %s", who.principal, who.env)
	}
}

func TestSyncWithoutTeamFailsForGood(t *testing.T) {
	f := newFixture(t)
	g := f.grants(t)
	cmd := syncCmd()
	cmd.Team = ""
	err := g.Sync(context.Background(), "c1", cmd)
	require.NoError(t, err, "a permanent error is answered, not retried")
	failed := data[events.CredentialsFailed](t, f.pub.last(t))
	assert.False(t, failed.Retryable)
	assert.Equal(t, "sync", failed.Action)
}

// staleList answers ListIssued with what it held earlier, as a list that
// was read just before another handler dropped a login does.
type staleList struct {
	app.GrantStore
	issued []domain.Issued
}

func (s staleList) ListIssued(context.Context) ([]domain.Issued, error) { return s.issued, nil }

// twoGrantLogins is a ready env1-db with the logins of two grants,
// grt-kept and grt-expiring.
func twoGrantLogins(t *testing.T) (*fixture, *app.Grants) {
	t.Helper()
	f := newFixture(t)
	ctx := context.Background()
	require.NoError(t, f.provision(t, "p1", "env1-db", nil))
	g := f.grants(t)
	require.NoError(t, g.Activated(ctx, activated("grt-kept")))
	require.NoError(t, g.Activated(ctx, activated("grt-expiring")))
	require.NoError(t, g.Sync(ctx, "c1", syncCmd()))
	return f, g
}

// A teardown that lists a login a grant's revocation is dropping at the
// same moment finds it gone and is done: it neither fails nor counts it.
func TestATeardownRacingARevocationCountsEachDropOnce(t *testing.T) {
	f, g := twoGrantLogins(t)
	ctx := context.Background()
	before, err := g.Store.ListIssued(ctx)
	require.NoError(t, err)
	require.Len(t, before, 2)

	require.NoError(t, g.Revoked(ctx, revoked("grt-expiring")))
	racing := *g
	racing.Store = staleList{GrantStore: g.Store, issued: before}
	require.NoError(t, racing.Revoke(ctx, "c2", events.CredentialsRevokeCommand{Saga: saga("revoke-grants"), EnvironmentID: "env1"}))

	assert.Equal(t, 1, data[events.CredentialsRevoked](t, f.pub.last(t)).Revoked, "only the login the teardown dropped")
	assert.Empty(t, f.grantRoles(t))
}

// A teardown that gets to a revoked grant's login before the revocation
// does drops it too, and counts only the live grants' logins.
func TestATeardownAheadOfARevocationDropsItsLoginsUncounted(t *testing.T) {
	f, g := twoGrantLogins(t)
	ctx := context.Background()
	gr, err := g.Store.GetGrant(ctx, "grt-expiring")
	require.NoError(t, err)
	gr.Revoked, gr.RevokedAt = true, time.Now().UTC()
	_, err = g.Store.PutGrant(ctx, gr) // the revocation has recorded itself, not yet dropped anything
	require.NoError(t, err)

	require.NoError(t, g.Revoke(ctx, "c2", events.CredentialsRevokeCommand{Saga: saga("revoke-grants"), EnvironmentID: "env1"}))
	assert.Equal(t, 1, data[events.CredentialsRevoked](t, f.pub.last(t)).Revoked)
	assert.Empty(t, f.grantRoles(t), "both logins are gone")
	require.NoError(t, g.Revoked(ctx, revoked("grt-expiring")), "the revocation then finds nothing left to drop")
}
