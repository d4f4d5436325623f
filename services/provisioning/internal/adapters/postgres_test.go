package adapters_test

import (
	"context"
	"fmt"
	"net/url"
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

// scramPostgres starts PostgreSQL and makes every role but the superuser
// log in with its password (testkit trusts everyone), so that a test can
// tell a right password from a wrong one.
func scramPostgres(t *testing.T) string {
	t.Helper()
	ctx := context.Background()
	admin := testkit.Postgres(t).URL()
	conn, err := pgx.Connect(ctx, admin)
	require.NoError(t, err)
	defer conn.Close(ctx)
	var hba string
	require.NoError(t, conn.QueryRow(ctx, "SHOW hba_file").Scan(&hba))
	_, err = conn.Exec(ctx, fmt.Sprintf(`COPY (SELECT unnest(ARRAY[
		'host all postgres 127.0.0.1/32 trust',
		'host all all 127.0.0.1/32 scram-sha-256'])) TO %s`, "'"+hba+"'"))
	require.NoError(t, err)
	_, err = conn.Exec(ctx, "SELECT pg_reload_conf()")
	require.NoError(t, err)
	require.Eventually(t, func() bool {
		var n int
		err := conn.QueryRow(ctx, "SELECT count(*) FROM pg_hba_file_rules WHERE auth_method = 'scram-sha-256'").Scan(&n)
		return err == nil && n == 1
	}, 5*time.Second, 20*time.Millisecond)
	return admin
}

func withPassword(t *testing.T, raw, password string) string {
	t.Helper()
	u, err := url.Parse(raw)
	require.NoError(t, err)
	u.User = url.UserPassword(u.User.Username(), password)
	return u.String()
}

func exec(t *testing.T, dsn string, sql string) error {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, dsn)
	if err != nil {
		return err
	}
	defer conn.Close(ctx)
	_, err = conn.Exec(ctx, sql)
	return err
}

func TestPostgresDriverGivesEachResourceItsOwnDatabaseAndLogin(t *testing.T) {
	ctx := context.Background()
	admin := scramPostgres(t)
	d, err := adapters.NewPostgres(admin)
	require.NoError(t, err)
	r := domain.Resource{ID: "env1-db", EnvironmentID: "env1", Driver: "postgres", Class: "small"}

	res, err := d.Provision(ctx, r)
	require.NoError(t, err)
	require.NotNil(t, res.Credentials)
	login := res.Credentials.URL
	assert.Equal(t, "pave_env1_db", res.Credentials.Username)
	assert.Equal(t, "pave_env1_db", res.Outputs["database"])
	assert.NotContains(t, fmt.Sprint(res.Outputs), res.Credentials.Password)

	require.NoError(t, exec(t, login, "CREATE TABLE notes (id int); INSERT INTO notes VALUES (1)"),
		"the new role logs in with its password and owns its database")
	assert.Error(t, exec(t, withPassword(t, login, "wrong"), "SELECT 1"), "a wrong password is refused")

	other, err := d.Provision(ctx, domain.Resource{ID: "env2-db", EnvironmentID: "env2", Driver: "postgres"})
	require.NoError(t, err)
	intruder, err := url.Parse(other.Credentials.URL)
	require.NoError(t, err)
	intruder.Path = "/pave_env1_db"
	assert.ErrorContains(t, exec(t, intruder.String(), "SELECT 1"), "permission denied", "another resource's role cannot connect")

	again, err := d.Provision(ctx, r)
	require.NoError(t, err, "provisioning twice is fine")
	require.NoError(t, exec(t, again.Credentials.URL, "SELECT * FROM notes"), "the same database, data kept")
	inv, err := d.Inventory(ctx)
	require.NoError(t, err)
	assert.Equal(t, []string{"database:pave_env1_db", "database:pave_env2_db", "role:pave_env1_db", "role:pave_env2_db"}, inv)
	assert.ElementsMatch(t, d.Planned(r.ID), []string{"database:pave_env1_db", "role:pave_env1_db"})
	login = again.Credentials.URL

	require.NoError(t, d.Sanitize(ctx, r.ID))
	assert.ErrorContains(t, exec(t, login, "SELECT * FROM notes"), "does not exist", "sanitize drops what the role owns")
	assert.NoError(t, exec(t, login, "CREATE TABLE notes (id int)"), "and the role can start again")

	r.Parameters = map[string]any{"connection_limit": float64(7)}
	_, err = d.Update(ctx, r)
	require.NoError(t, err)
	assert.NoError(t, exec(t, login, "SELECT 1"), "an update keeps the password")
	var limit int
	require.NoError(t, queryRow(t, admin, "SELECT rolconnlimit FROM pg_roles WHERE rolname = 'pave_env1_db'", &limit))
	assert.Equal(t, 7, limit)

	session, err := pgx.Connect(ctx, login) // an open session does not block the drop
	require.NoError(t, err)
	defer session.Close(ctx)
	existed, err := d.Deprovision(ctx, r.ID)
	require.NoError(t, err)
	assert.True(t, existed)
	assert.Error(t, exec(t, login, "SELECT 1"), "the role cannot log in any more")
	var n int
	require.NoError(t, queryRow(t, admin, "SELECT count(*) FROM pg_database WHERE datname = 'pave_env1_db'", &n))
	assert.Zero(t, n, "the database is gone")

	existed, err = d.Deprovision(ctx, r.ID)
	require.NoError(t, err)
	assert.False(t, existed, "deprovisioning what is gone says so")
}

func TestPostgresDriverRefusesBadParametersPermanently(t *testing.T) {
	d, err := adapters.NewPostgres(testkit.Postgres(t).URL())
	require.NoError(t, err)
	tests := []map[string]any{
		{"connection_limit": "many"},
		{"connection_limit": float64(-5)},
		{"superuser": true},
	}
	for _, give := range tests {
		_, err := d.Provision(context.Background(), domain.Resource{ID: "x", Driver: "postgres", Parameters: give})
		require.Error(t, err, "%v", give)
		assert.True(t, domain.IsPermanent(err), "%v: %v", give, err)
	}
	inv, err := d.Inventory(context.Background())
	require.NoError(t, err)
	assert.Empty(t, inv, "nothing was created")
}

func TestPostgresDriverUnreachableIsTransient(t *testing.T) {
	d, err := adapters.NewPostgres("postgres://postgres@127.0.0.1:1/postgres?sslmode=disable&connect_timeout=2")
	require.NoError(t, err)
	_, err = d.Provision(context.Background(), domain.Resource{ID: "x", Driver: "postgres"})
	require.Error(t, err)
	assert.False(t, domain.IsPermanent(err), "connection refused: %v", err)
}

func TestPostgresDriverRemovesStrays(t *testing.T) {
	ctx := context.Background()
	admin := testkit.Postgres(t).URL()
	d, err := adapters.NewPostgres(admin)
	require.NoError(t, err)
	require.NoError(t, exec(t, admin, "CREATE ROLE pave_stray LOGIN"))
	require.NoError(t, exec(t, admin, "CREATE DATABASE pave_stray OWNER pave_stray"))
	require.NoError(t, exec(t, admin, "CREATE DATABASE not_pave"))

	inv, err := d.Inventory(ctx)
	require.NoError(t, err)
	require.Equal(t, []string{"database:pave_stray", "role:pave_stray"}, inv)
	for _, id := range inv {
		require.NoError(t, d.Remove(ctx, id))
	}
	inv, err = d.Inventory(ctx)
	require.NoError(t, err)
	assert.Empty(t, inv)
	err = d.Remove(ctx, "database:not_pave")
	assert.True(t, domain.IsPermanent(err), "only Pave's objects are removed")
	assert.True(t, strings.Contains(err.Error(), "not a Pave"))
}

func queryRow(t *testing.T, dsn, sql string, dest ...any) error {
	t.Helper()
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, dsn)
	if err != nil {
		return err
	}
	defer conn.Close(ctx)
	return conn.QueryRow(ctx, sql).Scan(dest...)
}

// Finding 9 of issue 16: a postgres-db environment with connection_limit
// 1000 (or -1, no limit) took every connection slot of the shared server.
// Now a role's limit is bounded by its class (small 20, medium 50, large
// 100): more is refused permanently, on create and on update, and the
// default is the bound, never "no limit".
func TestAttackTenantCannotTakeEveryConnectionSlot(t *testing.T) {
	ctx := context.Background()
	admin := testkit.Postgres(t).URL()
	d, err := adapters.NewPostgres(admin)
	require.NoError(t, err)
	for _, tt := range []struct {
		class string
		limit float64
	}{{"small", 1000}, {"small", -1}, {"small", 21}, {"large", 101}, {"", 21}, {"small", 0}} {
		_, err := d.Provision(ctx, domain.Resource{ID: "greedy-db", Driver: "postgres", Class: tt.class,
			Parameters: map[string]any{"connection_limit": tt.limit}})
		require.Error(t, err, "%+v", tt)
		assert.True(t, domain.IsPermanent(err), "%+v: %v", tt, err)
		assert.Contains(t, err.Error(), "connection_limit", "%+v", tt)
	}
	inv, err := d.Inventory(ctx)
	require.NoError(t, err)
	assert.Empty(t, inv, "nothing was created")

	rolconnlimit := func(id string) int {
		var n int
		require.NoError(t, queryRow(t, admin, "SELECT rolconnlimit FROM pg_roles WHERE rolname = '"+domain.ObjectName(id)+"'", &n))
		return n
	}
	r := domain.Resource{ID: "fair-db", Driver: "postgres", Class: "small"}
	_, err = d.Provision(ctx, r)
	require.NoError(t, err)
	assert.Equal(t, 20, rolconnlimit(r.ID), "the default is the class's bound")
	r.Parameters = map[string]any{"connection_limit": float64(1000)}
	_, err = d.Update(ctx, r)
	require.Error(t, err)
	assert.True(t, domain.IsPermanent(err))
	assert.Equal(t, 20, rolconnlimit(r.ID), "a refused update changes nothing")
	big := domain.Resource{ID: "big-db", Driver: "postgres", Class: "large", Parameters: map[string]any{"connection_limit": float64(100)}}
	_, err = d.Provision(ctx, big)
	require.NoError(t, err)
	assert.Equal(t, 100, rolconnlimit(big.ID))
}

// A teardown under node loss ended compensation_failed: its first
// DROP DATABASE was cut off half-way, PostgreSQL had marked the database
// invalid, and every later step failed to connect to it ("cannot connect
// to invalid database", SQLSTATE 55000). Marking the database invalid by
// hand is what DROP DATABASE itself does first (datconnlimit -2).
func TestPostgresDriverFinishesAnInterruptedDrop(t *testing.T) {
	ctx := context.Background()
	admin := testkit.Postgres(t).URL()
	d, err := adapters.NewPostgres(admin)
	require.NoError(t, err)
	halfDrop := func(name string) {
		t.Helper()
		require.NoError(t, exec(t, admin, "UPDATE pg_database SET datconnlimit = -2 WHERE datname = '"+name+"'"))
		u, err := url.Parse(admin)
		require.NoError(t, err)
		u.Path = "/" + name
		require.ErrorContains(t, exec(t, u.String(), "SELECT 1"), "invalid database", "the database is half-dropped")
	}

	r := domain.Resource{ID: "envh-db", EnvironmentID: "envh", Driver: "postgres", Class: "small"}
	_, err = d.Provision(ctx, r)
	require.NoError(t, err)
	halfDrop("pave_envh_db")

	counts, err := d.Evidence(ctx, r.ID)
	require.NoError(t, err, "a receipt counts a half-dropped database without connecting to it")
	assert.Equal(t, map[string]int64{"role": 1, "database": 1, "database_half_dropped": 1}, counts)
	require.NoError(t, d.Sanitize(ctx, r.ID), "nothing inside is reachable to sanitize")
	existed, err := d.Deprovision(ctx, r.ID)
	require.NoError(t, err, "deprovision finishes the drop")
	assert.True(t, existed)
	counts, err = d.Evidence(ctx, r.ID)
	require.NoError(t, err)
	assert.Equal(t, map[string]int64{"role": 0, "database": 0, "objects_owned": 0}, counts)

	// A create of the same resource after an interrupted drop (a retried
	// compensation) finishes the drop and starts with an empty database.
	_, err = d.Provision(ctx, r)
	require.NoError(t, err)
	halfDrop("pave_envh_db")
	res, err := d.Provision(ctx, r)
	require.NoError(t, err)
	require.NoError(t, exec(t, res.Credentials.URL, "SELECT 1"), "the new database takes logins")
	inv, err := d.Inventory(ctx)
	require.NoError(t, err)
	assert.Equal(t, []string{"database:pave_envh_db", "role:pave_envh_db"}, inv)
}
