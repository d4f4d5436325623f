package testkit_test

import (
	"context"
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/pave-platform/pave/pkg/testkit"
)

func TestRedisSetGet(t *testing.T) {
	ctx := context.Background()
	r := testkit.Redis(t)
	opts, err := redis.ParseURL(r.URL())
	require.NoError(t, err)
	client := redis.NewClient(opts)
	defer client.Close()

	require.NoError(t, client.Set(ctx, "env:dev", "ready", 0).Err())
	got, err := client.Get(ctx, "env:dev").Result()
	require.NoError(t, err)
	assert.Equal(t, "ready", got)
}

func TestPostgresCreateInsertSelect(t *testing.T) {
	ctx := context.Background()
	pg := testkit.Postgres(t)
	conn, err := pgx.Connect(ctx, pg.URL())
	require.NoError(t, err)
	defer conn.Close(ctx)

	_, err = conn.Exec(ctx, "CREATE TABLE environments (id int PRIMARY KEY, name text NOT NULL)")
	require.NoError(t, err)
	_, err = conn.Exec(ctx, "INSERT INTO environments VALUES ($1, $2)", 1, "dev")
	require.NoError(t, err)
	var name string
	require.NoError(t, conn.QueryRow(ctx, "SELECT name FROM environments WHERE id = $1", 1).Scan(&name))
	assert.Equal(t, "dev", name)
}

func TestMissingServerSkips(t *testing.T) {
	t.Setenv("PATH", t.TempDir())
	t.Setenv(testkit.RequireServersEnv, "")
	var skipped bool
	t.Run("redis", func(t *testing.T) {
		defer func() { skipped = t.Skipped() }()
		testkit.Redis(t)
	})
	assert.True(t, skipped, "a missing redis-server skips the test")
}
