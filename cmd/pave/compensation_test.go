package main

import (
	"context"
	"net/http"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/pave-platform/pave/pkg/localsrv"
	"github.com/pave-platform/pave/pkg/testkit"
)

// Issue 19, finding 1: with Redis killed, creating a web-service ended
// compensation_failed "left: db, cache" and the PostgreSQL database stayed
// although PostgreSQL was healthy; nothing retried. Now every other
// resource is removed at once, the environment says what is left and why,
// and once Redis is back reconcile finishes the compensation: the
// environment is failed, fully compensated, and its name is free.
func TestCompensationRemovesWhatItCanAndHealsWhenTheServerReturns(t *testing.T) {
	p := startPlatform(t, "../../deploy/templates", nil)
	port := p.redisServer.Port()
	require.NoError(t, p.redisServer.Stop())

	id := p.create(map[string]any{"team": "payments", "name": "shop", "template": "web-service", "stage": "dev"})
	env := p.waitStateWithin(id, "compensation_failed", 3*time.Minute)
	assert.Contains(t, env["reason"], "left: cache", "the environment names what is left")
	assert.NotContains(t, env["reason"], "db (", "the database went although the cache could not")
	assert.Contains(t, env["reason"], "compensate step provision-cache", "and why")
	assert.Equal(t, 0, paveDatabases(t, p.pg), "PostgreSQL is healthy: its database is removed")

	back, err := localsrv.StartRedis(context.Background(), localsrv.RedisConfig{Dir: t.TempDir(), Port: port})
	testkit.RequireStarted(t, err)
	t.Cleanup(func() { assert.NoError(t, back.Stop()) })
	healed := p.waitStateWithin(id, "failed", 3*time.Minute)
	assert.Contains(t, healed["reason"], "compensated after all")
	for _, r := range healed["resources"].([]any) {
		res := r.(map[string]any)
		assert.Contains(t, []any{"deleted", "pending"}, res["state"], "%s is gone", res["name"])
	}
	assert.Equal(t, none(), p.realResources())

	code, out := p.do(http.MethodPost, "/v1/environments", map[string]any{"team": "payments", "name": "shop", "template": "redis-cache", "stage": "dev"})
	assert.Equal(t, http.StatusAccepted, code, "the name is free again: %v", out)
}

// waitStateWithin polls the environment until it reaches want.
func (p *platform) waitStateWithin(id, want string, d time.Duration) map[string]any {
	p.t.Helper()
	var env map[string]any
	require.Eventually(p.t, func() bool {
		_, env = p.do(http.MethodGet, "/v1/environments/"+id, nil)
		return env["state"] == want
	}, d, 100*time.Millisecond, "environment %s never reached %s: %v", id, want, &env)
	return env
}

func paveDatabases(t *testing.T, pgURL string) int {
	t.Helper()
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, pgURL)
	require.NoError(t, err)
	defer conn.Close(ctx)
	var n int
	require.NoError(t, conn.QueryRow(ctx, `SELECT count(*) FROM pg_database WHERE datname LIKE 'pave\_%'`).Scan(&n))
	return n
}
