package localsrv_test

import (
	"context"
	"net"
	"strconv"
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func itoa(i int) string { return strconv.Itoa(i) }

func redisClient(t *testing.T, url string) *redis.Client {
	t.Helper()
	opts, err := redis.ParseURL(url)
	require.NoError(t, err)
	c := redis.NewClient(opts)
	t.Cleanup(func() { _ = c.Close() })
	return c
}

func setKey(t *testing.T, url, key, value string) {
	t.Helper()
	c := redisClient(t, url)
	require.NoError(t, c.Set(context.Background(), key, value, 0).Err())
	require.NoError(t, c.Close())
}

func getKey(t *testing.T, url, key string) string {
	t.Helper()
	got, err := redisClient(t, url).Get(context.Background(), key).Result()
	require.NoError(t, err)
	return got
}

func execSQL(t *testing.T, url, sql string) {
	t.Helper()
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, url)
	require.NoError(t, err)
	defer conn.Close(ctx)
	_, err = conn.Exec(ctx, sql)
	require.NoError(t, err)
}

// assertRefused checks that nothing listens on addr any more.
func assertRefused(t *testing.T, addr string) {
	t.Helper()
	conn, err := net.Dial("tcp", addr)
	if err == nil {
		conn.Close()
	}
	assert.Error(t, err, "still listening on %s", addr)
}
