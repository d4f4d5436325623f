package main

import (
	"context"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/pave-platform/pave/pkg/httpfx"
	"github.com/pave-platform/pave/pkg/localsrv"
	"github.com/pave-platform/pave/pkg/testkit"
)

// pave dev's local Redis, killed, is restarted on its port; meanwhile
// /readyz names it as the dependency that is down.
func TestDevRestartsItsLocalRedisAndReadyzNamesIt(t *testing.T) {
	t.Setenv(envPostgresTarget, "postgres://configured-elsewhere") // only Redis is local here
	t.Setenv(envRedisTarget, "")
	t.Setenv("PAVE_DEV_REDIS_PORT", "")
	dir := t.TempDir()
	targets, err := startLocalTargets(context.Background(), dir, io.Discard)
	require.NoError(t, err)
	t.Cleanup(targets.stop)
	if targets.redis == nil { // redis-server is missing: skip, or fail in CI
		testkit.RequireStarted(t, localsrv.ErrNotInstalled)
	}
	// The URL carries the local Redis's password (issue 16: it needed none).
	pw, err := localPassword(filepath.Join(dir, "redis.password"))
	require.NoError(t, err)
	assert.Equal(t, os.Getenv(envRedisTarget), "redis://default:"+pw+"@"+targets.redis.Addr()+"/0")

	srv, err := httpfx.NewServer(httpfx.Config{Addr: "127.0.0.1:0"}, nil,
		[]httpfx.ReadinessCheck{{Name: "local-redis", Check: targets.redis.Check}}, nil, nil)
	require.NoError(t, err)
	require.NoError(t, srv.Start(context.Background()))
	t.Cleanup(func() { _ = srv.Stop(context.Background()) })
	readyz := func() (int, string) {
		resp, err := http.Get("http://" + srv.Addr() + "/readyz")
		if err != nil {
			return 0, err.Error()
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	code, body := readyz()
	require.Equal(t, http.StatusOK, code, body)

	require.NoError(t, syscall.Kill(targets.redis.PID(), syscall.SIGKILL))
	var last string
	assert.Eventually(t, func() bool {
		code, last = readyz()
		return code == http.StatusServiceUnavailable
	}, 20*time.Second, 10*time.Millisecond, "readyz never said Redis was down")
	assert.Contains(t, last, "local-redis")
	ok := assert.Eventually(t, func() bool {
		code, last = readyz()
		return code == http.StatusOK && targets.redis.Restarts() == 1
	}, 60*time.Second, 50*time.Millisecond)
	require.True(t, ok, "redis not restarted: %s", last)
}

// Issue 16: pave dev's local PostgreSQL and Redis accepted anyone on the
// machine as their superuser. Now each has a password generated into the
// data folder (0600, kept across restarts), handed to provisioning in its
// admin URL, and a login without it is refused.
func TestDevLocalServersRequirePasswords(t *testing.T) {
	t.Setenv(envPostgresTarget, "")
	t.Setenv(envRedisTarget, "")
	t.Setenv("PAVE_DEV_POSTGRES_PORT", "")
	t.Setenv("PAVE_DEV_REDIS_PORT", "")
	dir := filepath.Dir(testkit.PostgresDir(t)) // reachable by the postgres OS user when root
	require.NoError(t, prepareDataDir(dir))
	targets, err := startLocalTargets(context.Background(), dir, io.Discard)
	require.NoError(t, err)
	t.Cleanup(targets.stop)
	if targets.redis == nil || targets.postgres == nil {
		testkit.RequireStarted(t, localsrv.ErrNotInstalled)
	}
	ctx := context.Background()
	for _, f := range []string{"postgres.password", "redis.password"} {
		fi, err := os.Stat(filepath.Join(dir, f))
		require.NoError(t, err, f)
		assert.Equal(t, os.FileMode(0o600), fi.Mode().Perm(), f)
	}

	_, err = pgx.Connect(ctx, "postgres://postgres@"+targets.postgres.Addr()+"/postgres?sslmode=disable")
	require.Error(t, err, "no login to the local PostgreSQL without its password")
	assert.Contains(t, err.Error(), "password authentication failed")
	conn, err := pgx.Connect(ctx, os.Getenv(envPostgresTarget))
	require.NoError(t, err, "provisioning's admin URL logs in")
	require.NoError(t, conn.Close(ctx))

	anon := redis.NewClient(&redis.Options{Addr: targets.redis.Addr()})
	defer anon.Close()
	err = anon.Ping(ctx).Err()
	require.Error(t, err, "no command to the local Redis without its password")
	assert.Contains(t, err.Error(), "NOAUTH")
	opts, err := redis.ParseURL(os.Getenv(envRedisTarget))
	require.NoError(t, err)
	admin := redis.NewClient(opts)
	defer admin.Close()
	assert.NoError(t, admin.Ping(ctx).Err(), "provisioning's admin URL logs in")
}
