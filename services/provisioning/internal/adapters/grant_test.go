package adapters_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/pave-platform/pave/pkg/testkit"
	"github.com/pave-platform/pave/services/provisioning/internal/adapters"
	"github.com/pave-platform/pave/services/provisioning/internal/domain"
)

// Grant logins are not resources: the orphan sweep's inventory never
// lists them, and the drift side lists them by their own prefix.
func TestGrantLoginsStayOutOfTheOrphanInventory(t *testing.T) {
	ctx := context.Background()
	pg, err := adapters.NewPostgres(testkit.Postgres(t).URL())
	require.NoError(t, err)
	rs := testkit.Redis(t)
	rd, err := adapters.NewRedis(rs.URL())
	require.NoError(t, err)
	t.Cleanup(func() { _ = rd.Close() })
	name := domain.CredentialName("grt-1", "env1-db")

	_, err = pg.Provision(ctx, domain.Resource{ID: "env1-db", EnvironmentID: "env1", Driver: "postgres"})
	require.NoError(t, err)
	_, err = pg.IssueGrant(ctx, "env1-db", name, false, time.Now().Add(time.Hour))
	require.NoError(t, err)
	_, err = rd.IssueGrant(ctx, "env1-cache", name, true, time.Now().Add(time.Hour))
	require.NoError(t, err)

	for _, d := range []interface {
		Inventory(context.Context) ([]string, error)
		GrantNames(context.Context) ([]string, error)
	}{pg, rd} {
		inv, err := d.Inventory(ctx)
		require.NoError(t, err)
		assert.NotContains(t, inv, "role:"+name)
		assert.NotContains(t, inv, "user:"+name)
		names, err := d.GrantNames(ctx)
		require.NoError(t, err)
		assert.Equal(t, []string{name}, names)
	}
	logins, err := pg.Logins(ctx, "env1-db")
	require.NoError(t, err)
	assert.Equal(t, []string{name}, logins, "the owner role is not counted")
	logins, err = rd.Logins(ctx, "env1-cache")
	require.NoError(t, err)
	assert.Equal(t, []string{name}, logins)
}

// A foreign Redis user loses only the key patterns that reach the
// resource; its other patterns stay.
func TestRedisStripKeepsOtherKeyPatterns(t *testing.T) {
	ctx := context.Background()
	rs := testkit.Redis(t)
	rd, err := adapters.NewRedis(rs.URL())
	require.NoError(t, err)
	t.Cleanup(func() { _ = rd.Close() })
	admin := redisClient(t, rs.URL())
	require.NoError(t, admin.ACLSetUser(ctx, "eve", "on", ">pw", "~env:env1-cache:*", "%R~reports:*", "+@all").Err())
	require.NoError(t, admin.ACLSetUser(ctx, "ops", "on", ">pw", "~*", "+@all").Err())

	logins, err := rd.Logins(ctx, "env1-cache")
	require.NoError(t, err)
	assert.Equal(t, []string{"eve"}, logins, "a user with every key is an operator, not drift")

	require.NoError(t, rd.Strip(ctx, "env1-cache", "eve"))
	logins, err = rd.Logins(ctx, "env1-cache")
	require.NoError(t, err)
	assert.Empty(t, logins)
	lines, err := admin.Do(ctx, "ACL", "LIST").StringSlice()
	require.NoError(t, err)
	var eve string
	for _, l := range lines {
		if strings.HasPrefix(l, "user eve ") {
			eve = l
		}
	}
	assert.Contains(t, eve, "%R~reports:*")
	assert.NotContains(t, eve, "env:env1-cache")
}

// A viewer's role reads tables created after it was issued, and writes none.
func TestPostgresGrantRolesFollowDefaultPrivileges(t *testing.T) {
	ctx := context.Background()
	pg, err := adapters.NewPostgres(testkit.Postgres(t).URL())
	require.NoError(t, err)
	owner, err := pg.Provision(ctx, domain.Resource{ID: "env1-db", EnvironmentID: "env1", Driver: "postgres"})
	require.NoError(t, err)
	viewer, err := pg.IssueGrant(ctx, "env1-db", domain.CredentialName("g", "env1-db"), false, time.Now().Add(time.Hour))
	require.NoError(t, err)

	oc, err := pgx.Connect(ctx, owner.Credentials.URL)
	require.NoError(t, err)
	defer oc.Close(ctx)
	_, err = oc.Exec(ctx, "CREATE TABLE later (id serial primary key, v text); INSERT INTO later (v) VALUES ('x')")
	require.NoError(t, err)

	vc, err := pgx.Connect(ctx, viewer.URL)
	require.NoError(t, err)
	defer vc.Close(ctx)
	var v string
	require.NoError(t, vc.QueryRow(ctx, "SELECT v FROM later").Scan(&v))
	assert.Equal(t, "x", v)
	_, err = vc.Exec(ctx, "DELETE FROM later")
	assert.ErrorContains(t, err, "permission denied")
	_, err = vc.Exec(ctx, "CREATE TABLE mine (id int)")
	assert.ErrorContains(t, err, "permission denied", "no DDL for a grant")
}

// Two handlers dropping the same grant role at once (a grant's
// revocation and its environment's teardown) both succeed: a role that
// vanishes half-way was dropped, not a failure of the second.
func TestPostgresGrantRoleDroppedTwiceAtOnce(t *testing.T) {
	ctx := context.Background()
	pg, err := adapters.NewPostgres(testkit.Postgres(t).URL())
	require.NoError(t, err)
	_, err = pg.Provision(ctx, domain.Resource{ID: "env1-db", EnvironmentID: "env1", Driver: "postgres"})
	require.NoError(t, err)
	for i := range 5 {
		name := domain.CredentialName(fmt.Sprintf("g%d", i), "env1-db")
		_, err := pg.IssueGrant(ctx, "env1-db", name, true, time.Now().Add(time.Hour))
		require.NoError(t, err)
		errs := make(chan error, 2)
		for range 2 {
			go func() { errs <- pg.RevokeGrant(ctx, "env1-db", name) }()
		}
		assert.NoError(t, <-errs, "round %d", i)
		assert.NoError(t, <-errs, "round %d", i)
	}
	names, err := pg.GrantNames(ctx)
	require.NoError(t, err)
	assert.Empty(t, names)
}
