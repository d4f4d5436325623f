package localsrv_test

import (
	"context"
	"errors"
	"net"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"

	"github.com/pave-platform/pave/pkg/localsrv"
	"github.com/pave-platform/pave/pkg/testkit"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func startCtx(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	t.Cleanup(cancel)
	return ctx
}

func TestRedisAppendOnlyKeepsDataAcrossRestart(t *testing.T) {
	ctx := startCtx(t)
	cfg := localsrv.RedisConfig{Dir: t.TempDir(), AppendOnly: true}
	r, err := localsrv.StartRedis(ctx, cfg)
	testkit.RequireStarted(t, err)
	setKey(t, r.URL(), "greeting", "hello")
	require.NoError(t, r.Stop())
	require.NoError(t, r.Stop(), "second Stop")
	assertRefused(t, r.Addr())

	r, err = localsrv.StartRedis(ctx, cfg)
	require.NoError(t, err)
	t.Cleanup(func() { assert.NoError(t, r.Stop()) })
	assert.Equal(t, "hello", getKey(t, r.URL(), "greeting"))
}

func TestPostgresKeepsDataAcrossRestart(t *testing.T) {
	ctx := startCtx(t)
	cfg := localsrv.PostgresConfig{Dir: testkit.PostgresDir(t), SocketDir: filepath.Join(t.TempDir(), "sock")}
	pg, err := localsrv.StartPostgres(ctx, cfg)
	testkit.RequireStarted(t, err)
	execSQL(t, pg.URL(), "CREATE TABLE notes (body text)")
	execSQL(t, pg.URL(), "INSERT INTO notes VALUES ('kept')")
	require.NoError(t, pg.Stop())
	assertRefused(t, pg.Addr())

	pg, err = localsrv.StartPostgres(ctx, cfg)
	require.NoError(t, err)
	t.Cleanup(func() { assert.NoError(t, pg.Stop()) })
	conn, err := pgx.Connect(ctx, pg.URL())
	require.NoError(t, err)
	defer conn.Close(ctx)
	var body string
	require.NoError(t, conn.QueryRow(ctx, "SELECT body FROM notes").Scan(&body))
	assert.Equal(t, "kept", body)
}

func TestMissingRedisIsErrNotInstalled(t *testing.T) {
	t.Setenv("PATH", t.TempDir())
	_, err := localsrv.StartRedis(context.Background(), localsrv.RedisConfig{Dir: t.TempDir()})
	require.ErrorIs(t, err, localsrv.ErrNotInstalled)
	assert.ErrorContains(t, err, "apt-get install -y redis-server")
}

func TestFreePortCanBeBound(t *testing.T) {
	port, err := localsrv.FreePort()
	require.NoError(t, err)
	l, err := net.Listen("tcp", net.JoinHostPort("127.0.0.1", itoa(port)))
	require.NoError(t, err)
	assert.NoError(t, l.Close())
}

func TestPostgresAsRootExplainsUnreachableDir(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("only root hands PostgreSQL to the postgres OS user")
	}
	// t.TempDir()'s parent is 0700 root: the postgres user cannot enter it.
	_, err := localsrv.StartPostgres(startCtx(t), localsrv.PostgresConfig{Dir: filepath.Join(t.TempDir(), "pgdata")})
	if errors.Is(err, localsrv.ErrNotInstalled) {
		testkit.RequireStarted(t, err)
	}
	assert.ErrorContains(t, err, "chmod o+x")
}
