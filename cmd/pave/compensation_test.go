package main

import (
	"context"
	"fmt"
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

// Issue 19, finding 1, the rest of it: each undo is retried "until it
// succeeds or its server is declared gone by an operator". Redis dies for
// good; the environment is compensation_failed holding its cache. A
// developer may not declare the server gone; a platform admin does, with a
// reason, and the compensation finishes: the cache is written off as
// abandoned naming the declaration, the environment is failed holding
// nothing, and its name is free. Taking the declaration back works too.
func TestAnOperatorDeclaresAServerGoneAndCompensationFinishes(t *testing.T) {
	p := startPlatform(t, "../../deploy/templates", nil)
	admin := accessAPI{t: t, base: p.base, token: p.token}
	admin.must(http.StatusCreated, http.MethodPost, "/v1/teams", map[string]any{"name": "payments"})
	require.NoError(t, p.redisServer.Stop())

	id := p.create(map[string]any{"team": "payments", "name": "shop", "template": "web-service", "stage": "dev"})
	env := p.waitStateWithin(id, "compensation_failed", 3*time.Minute)
	require.Contains(t, env["reason"], "left: cache")

	admin.must(http.StatusOK, http.MethodPut, "/v1/teams/payments/members/dana", map[string]any{"role": "maintainer"})
	dana := admin.as(admin.issue("dana", "1h"))
	dana.must(http.StatusForbidden, http.MethodPut, "/v1/servers/redis/gone", map[string]any{"reason": "host lost"})

	out := admin.must(http.StatusUnprocessableEntity, http.MethodPut, "/v1/servers/redis/gone", map[string]any{"reason": " "})
	assert.Contains(t, fieldsOf(out), "reason", "a declaration says why")
	admin.must(http.StatusNotFound, http.MethodPut, "/v1/servers/mainframe/gone", map[string]any{"reason": "host lost"})

	g := admin.must(http.StatusOK, http.MethodPut, "/v1/servers/redis/gone", map[string]any{"reason": "host lost in the fire"})
	assert.Equal(t, "redis", g["driver"])
	assert.NotEmpty(t, g["by"], "the declaration names its operator")
	list := admin.must(http.StatusOK, http.MethodGet, "/v1/servers", nil)
	assert.Contains(t, fmt.Sprint(list["items"]), "host lost in the fire", "the list shows the declaration")

	healed := p.waitStateWithin(id, "failed", 3*time.Minute)
	var cache map[string]any
	for _, r := range healed["resources"].([]any) {
		res := r.(map[string]any)
		if res["name"] == "cache" {
			cache = res
			continue
		}
		assert.Contains(t, []any{"deleted", "pending"}, res["state"], "%s is gone", res["name"])
	}
	require.NotNil(t, cache, "the environment still lists its cache: %v", healed["resources"])
	assert.Equal(t, "abandoned", cache["state"])
	assert.Contains(t, cache["note"], "declared gone", "the resource says why it was written off")
	assert.Contains(t, cache["note"], "host lost in the fire")
	assert.Equal(t, 0, paveDatabases(t, p.pg), "the database on the healthy server went")

	code, body := p.do(http.MethodPost, "/v1/environments", map[string]any{"team": "payments", "name": "shop", "template": "postgres-db", "stage": "dev"})
	assert.Equal(t, http.StatusAccepted, code, "the name is free again: %v", body)

	admin.must(http.StatusNoContent, http.MethodDelete, "/v1/servers/redis/gone", nil)
	list = admin.must(http.StatusOK, http.MethodGet, "/v1/servers", nil)
	assert.NotContains(t, fmt.Sprint(list["items"]), "host lost in the fire", "the declaration is taken back")
}
