package adapters_test

import (
	"context"
	"fmt"
	"testing"

	"github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/pave-platform/pave/pkg/testkit"
	"github.com/pave-platform/pave/services/provisioning/internal/adapters"
	"github.com/pave-platform/pave/services/provisioning/internal/domain"
)

func redisClient(t *testing.T, url string) *redis.Client {
	t.Helper()
	opts, err := redis.ParseURL(url)
	require.NoError(t, err)
	opts.MaxRetries = -1
	c := redis.NewClient(opts)
	t.Cleanup(func() { _ = c.Close() })
	return c
}

func TestRedisDriverConfinesEachUserToItsKeys(t *testing.T) {
	ctx := context.Background()
	srv := testkit.Redis(t)
	d, err := adapters.NewRedis(srv.URL())
	require.NoError(t, err)
	t.Cleanup(func() { _ = d.Close() })
	admin := redisClient(t, srv.URL())
	r := domain.Resource{ID: "env1-cache", EnvironmentID: "env1", Driver: "redis"}

	res, err := d.Provision(ctx, r)
	require.NoError(t, err)
	assert.Equal(t, "env:env1-cache:", res.Outputs["key_prefix"])
	user := redisClient(t, res.Credentials.URL)

	require.NoError(t, user.Set(ctx, "env:env1-cache:x", "1", 0).Err(), "its own keys")
	got, err := user.Get(ctx, "env:env1-cache:x").Result()
	require.NoError(t, err)
	assert.Equal(t, "1", got)
	require.NoError(t, admin.Set(ctx, "env:env2:secret", "theirs", 0).Err())
	refused := map[string]error{
		"SET another key":   user.Set(ctx, "env:env2:x", "1", 0).Err(),
		"GET another key":   user.Get(ctx, "env:env2:secret").Err(),
		"FLUSHALL":          user.FlushAll(ctx).Err(),
		"CONFIG GET":        user.ConfigGet(ctx, "*").Err(),
		"KEYS":              user.Keys(ctx, "*").Err(),
		"SCAN":              user.Scan(ctx, 0, "*", 10).Err(),
		"SELECT":            user.Do(ctx, "SELECT", 1).Err(),
		"ACL SETUSER":       user.ACLSetUser(ctx, "pave_env1_cache", "+@all").Err(),
		"SHUTDOWN":          user.Do(ctx, "SHUTDOWN").Err(),
		"EVAL another key":  user.Eval(ctx, "return redis.call('GET', KEYS[1])", []string{"env:env2:secret"}).Err(),
		"MIGRATE":           user.Do(ctx, "MIGRATE", "h", 1, "env:env1-cache:x", 0, 1).Err(),
		"RENAME out of env": user.Rename(ctx, "env:env1-cache:x", "env:env2:x").Err(),
	}
	for what, err := range refused {
		assert.ErrorContains(t, err, "NOPERM", what)
	}

	again, err := d.Provision(ctx, r)
	require.NoError(t, err, "provisioning twice is fine")
	user = redisClient(t, again.Credentials.URL)
	assert.Equal(t, "1", user.Get(ctx, "env:env1-cache:x").Val(), "the same keys")

	for i := range 1200 {
		require.NoError(t, admin.Set(ctx, fmt.Sprintf("env:env1-cache:k%d", i), i, 0).Err())
	}
	require.NoError(t, d.Sanitize(ctx, r.ID))
	assert.Zero(t, countKeys(t, admin, "env:env1-cache:*"), "sanitize deletes every key of the resource")
	assert.Equal(t, "theirs", admin.Get(ctx, "env:env2:secret").Val(), "and no other")
	assert.NoError(t, user.Ping(ctx).Err(), "the user stays")

	_, err = d.Update(ctx, r)
	require.NoError(t, err)
	assert.NoError(t, user.Set(ctx, "env:env1-cache:y", "2", 0).Err(), "an update keeps the password")

	inv, err := d.Inventory(ctx)
	require.NoError(t, err)
	assert.Equal(t, []string{"user:pave_env1_cache"}, inv)

	existed, err := d.Deprovision(ctx, r.ID)
	require.NoError(t, err)
	assert.True(t, existed)
	assert.Error(t, redisClient(t, again.Credentials.URL).Ping(ctx).Err(), "the user cannot log in any more")
	assert.Zero(t, countKeys(t, admin, "env:env1-cache:*"), "its keys are gone")
	existed, err = d.Deprovision(ctx, r.ID)
	require.NoError(t, err)
	assert.False(t, existed)
}

func TestRedisDriverRemovesStrayUsers(t *testing.T) {
	ctx := context.Background()
	srv := testkit.Redis(t)
	d, err := adapters.NewRedis(srv.URL())
	require.NoError(t, err)
	t.Cleanup(func() { _ = d.Close() })
	admin := redisClient(t, srv.URL())
	require.NoError(t, admin.ACLSetUser(ctx, "pave_stray", "on", ">pw", "~*", "+@all").Err())
	require.NoError(t, admin.ACLSetUser(ctx, "someone", "on", ">pw").Err())

	inv, err := d.Inventory(ctx)
	require.NoError(t, err)
	require.Equal(t, []string{"user:pave_stray"}, inv)
	require.NoError(t, d.Remove(ctx, inv[0]))
	inv, err = d.Inventory(ctx)
	require.NoError(t, err)
	assert.Empty(t, inv)
	assert.True(t, domain.IsPermanent(d.Remove(ctx, "user:someone")))
}

func TestRedisDriverRefusesOtherDatabases(t *testing.T) {
	_, err := adapters.NewRedis("redis://127.0.0.1:6379/3")
	assert.ErrorContains(t, err, "database 0")
}

func countKeys(t *testing.T, c *redis.Client, pattern string) int {
	t.Helper()
	keys, _, err := c.Scan(context.Background(), 0, pattern, 100000).Result()
	require.NoError(t, err)
	return len(keys)
}
