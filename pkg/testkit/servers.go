package testkit

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/pave-platform/pave/pkg/localsrv"
)

// startTimeout bounds initdb plus server start on a slow CI machine.
const startTimeout = 2 * time.Minute

// RequireServersEnv, set to 1, turns a missing server binary from a skip
// into a failure.
const RequireServersEnv = "PAVE_REQUIRE_SERVERS"

// Redis starts redis-server on a free port with its files in t.TempDir(),
// stopped on cleanup.
func Redis(t testing.TB) *localsrv.Redis {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), startTimeout)
	defer cancel()
	r, err := localsrv.StartRedis(ctx, localsrv.RedisConfig{Dir: t.TempDir()})
	RequireStarted(t, err)
	t.Cleanup(func() { require.NoError(t, r.Stop()) })
	return r
}

// Postgres starts PostgreSQL in Fast mode (no fsync) on a free port with
// a fresh data directory from PostgresDir, stopped on cleanup. Connect as
// the superuser with URL().
func Postgres(t testing.TB) *localsrv.Postgres {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), startTimeout)
	defer cancel()
	pg, err := localsrv.StartPostgres(ctx, localsrv.PostgresConfig{Dir: PostgresDir(t), Fast: true})
	RequireStarted(t, err)
	t.Cleanup(func() { require.NoError(t, pg.Stop()) })
	return pg
}

// RequireStarted handles the error of a localsrv start: a missing binary
// skips the test with the install hint (fails it with
// PAVE_REQUIRE_SERVERS=1), any other error fails it.
func RequireStarted(t testing.TB, err error) {
	t.Helper()
	if errors.Is(err, localsrv.ErrNotInstalled) && os.Getenv(RequireServersEnv) != "1" {
		t.Skipf("%v; set %s=1 to fail instead", err, RequireServersEnv)
	}
	require.NoError(t, err)
}

// PostgresDir returns a data directory path (not yet created) inside
// t.TempDir(). Under root, PostgreSQL runs as the OS user "postgres",
// which cannot enter t.TempDir()'s 0700 parent, so it is opened to 0755.
func PostgresDir(t testing.TB) string {
	t.Helper()
	dir := t.TempDir()
	if os.Geteuid() == 0 {
		for _, d := range []string{filepath.Dir(dir), dir} {
			require.NoError(t, os.Chmod(d, 0o755), "open temp dir to the postgres user")
		}
	}
	return filepath.Join(dir, "pgdata")
}
