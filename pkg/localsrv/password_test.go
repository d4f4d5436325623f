package localsrv_test

import (
	"context"
	"path/filepath"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/pave-platform/pave/pkg/localsrv"
	"github.com/pave-platform/pave/pkg/testkit"
)

// pave dev's PostgreSQL needs its password: a login without it (or with
// another) is refused over TCP, and a data directory made with trust
// before is switched over at the next start, keeping its data.
func TestPostgresWithAPasswordRefusesLoginsWithoutIt(t *testing.T) {
	ctx := startCtx(t)
	dir := testkit.PostgresDir(t)
	cfg := localsrv.PostgresConfig{Dir: dir, SocketDir: filepath.Join(t.TempDir(), "sock")}
	old, err := localsrv.StartPostgres(ctx, cfg)
	testkit.RequireStarted(t, err)
	execSQL(t, old.URL(), "CREATE TABLE notes (body text)")
	execSQL(t, old.URL(), "INSERT INTO notes VALUES ('kept')")
	require.NoError(t, old.Stop())

	cfg.Password = "s3cret'pw"
	pg, err := localsrv.StartPostgres(ctx, cfg)
	require.NoError(t, err)
	t.Cleanup(func() { assert.NoError(t, pg.Stop()) })
	assert.NotContains(t, old.URL(), "s3cret")
	noPassword := "postgres://postgres@" + pg.Addr() + "/postgres?sslmode=disable"
	for _, url := range []string{noPassword, strings.Replace(pg.URL(), "s3cret", "guess", 1)} {
		_, err := pgx.Connect(ctx, url)
		require.Error(t, err, "a login without the password is refused")
		assert.Contains(t, err.Error(), "password authentication failed")
	}
	conn, err := pgx.Connect(ctx, pg.URL())
	require.NoError(t, err, "the URL carries the password")
	defer conn.Close(ctx)
	var body string
	require.NoError(t, conn.QueryRow(ctx, "SELECT body FROM notes").Scan(&body))
	assert.Equal(t, "kept", body)

	fresh := localsrv.PostgresConfig{Dir: testkit.PostgresDir(t), Password: "fresh-pw"}
	pg2, err := localsrv.StartPostgres(ctx, fresh)
	require.NoError(t, err)
	t.Cleanup(func() { assert.NoError(t, pg2.Stop()) })
	_, err = pgx.Connect(ctx, strings.Replace(pg2.URL(), "fresh-pw", "guess", 1))
	require.Error(t, err, "a new cluster needs the password from the start")
	execSQL(t, pg2.URL(), "SELECT 1")
}

// pave dev's Redis needs its password: a client without it gets NOAUTH;
// the ACL file keeps provisioned users across a restart while the default
// user keeps needing the password.
func TestRedisWithAPasswordRefusesClientsWithoutIt(t *testing.T) {
	ctx := context.Background()
	for _, acl := range []bool{true, false} {
		cfg := localsrv.RedisConfig{Dir: t.TempDir(), AppendOnly: true, ACLFile: acl, Password: "r3dis-pw"}
		r, err := localsrv.StartRedis(startCtx(t), cfg)
		testkit.RequireStarted(t, err)
		anon := redisClient(t, "redis://"+r.Addr()+"/0")
		err = anon.Ping(ctx).Err()
		require.Error(t, err, "acl file %v: a client without the password is refused", acl)
		assert.Contains(t, err.Error(), "NOAUTH")
		setKey(t, r.URL(), "greeting", "hello")
		if acl {
			c := redisClient(t, r.URL())
			require.NoError(t, c.Do(ctx, "ACL", "SETUSER", "tenant", "on", ">tenant-pw", "~tenant:*", "+@all").Err())
			require.NoError(t, c.Do(ctx, "ACL", "SAVE").Err())
		}
		require.NoError(t, r.Stop())

		r, err = localsrv.StartRedis(startCtx(t), cfg)
		require.NoError(t, err)
		t.Cleanup(func() { assert.NoError(t, r.Stop()) })
		assert.Error(t, redisClient(t, "redis://"+r.Addr()+"/0").Ping(ctx).Err(), "still refused after a restart")
		assert.Equal(t, "hello", getKey(t, r.URL(), "greeting"))
		if acl {
			assert.NoError(t, redisClient(t, "redis://tenant:tenant-pw@"+r.Addr()+"/0").Ping(ctx).Err(),
				"a provisioned user survives the restart")
		}
	}
}
