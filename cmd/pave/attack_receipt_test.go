package main

import (
	"bytes"
	"context"
	"net/http"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// resourceOf is the resource named name in an environment answer.
func resourceOf(env map[string]any, name string) map[string]any {
	for _, r := range env["resources"].([]any) {
		if res := r.(map[string]any); res["name"] == name {
			return res
		}
	}
	return nil
}

// Issue 16: teardown left no proof of what it did. Now it writes a
// receipt: each resource, how it was sanitized and deleted, the counts
// before and after, the logins revoked. GET /v1/environments/{id}/receipt
// (pave env receipt) is authorized like reading the environment: its team
// reads it, another team gets a 404 that names nothing of it.
func TestAttackTeardownReceiptShowsTheEvidenceToItsTeamOnly(t *testing.T) {
	p := startPlatform(t, "../../deploy/templates", nil)
	admin := accessAPI{t: t, base: p.base, token: p.token}
	alpha := edgeTeam(t, admin, "alpha")
	// Beta's maintainer, a member of no other team.
	admin.must(http.StatusCreated, http.MethodPost, "/v1/teams", map[string]any{"name": "beta"})
	admin.must(http.StatusOK, http.MethodPut, "/v1/teams/beta/members/eve", map[string]any{"role": "maintainer"})
	eve := admin.as(admin.issue("eve", "1h"))
	id := p.create(map[string]any{"team": "alpha", "name": "pr-16", "template": "preview", "stage": "preview"})
	p.waitState(id, "ready")
	code, out := alpha["vic"].call(http.MethodGet, "/v1/environments/"+id+"/receipt", nil)
	assert.Equal(t, http.StatusNotFound, code, "no receipt before the teardown: %v", out)

	// The tenant writes data: a table in its database, keys in its cache.
	ctx := context.Background()
	env := alpha["mia"].must(http.StatusOK, http.MethodGet, "/v1/environments/"+id+"?credentials=true", nil)
	conn, err := pgx.Connect(ctx, loginOf(env, "db")["url"].(string))
	require.NoError(t, err)
	_, err = conn.Exec(ctx, "CREATE TABLE notes (body text); INSERT INTO notes VALUES ('secret')")
	require.NoError(t, err)
	require.NoError(t, conn.Close(ctx))
	cache := resourceOf(env, "cache")
	prefix := cache["outputs"].(map[string]any)["key_prefix"].(string)
	opts, err := redis.ParseURL(loginOf(env, "cache")["url"].(string))
	require.NoError(t, err)
	rdb := redis.NewClient(opts)
	require.NoError(t, rdb.Set(ctx, prefix+"a", "1", 0).Err())
	require.NoError(t, rdb.Set(ctx, prefix+"b", "2", 0).Err())
	require.NoError(t, rdb.Close())

	code, out = p.do(http.MethodDelete, "/v1/environments/"+id, nil)
	require.Equal(t, http.StatusAccepted, code, "%v", out)
	p.waitState(id, "deleted")

	var receipt map[string]any
	require.Eventually(t, func() bool {
		code, receipt = alpha["vic"].call(http.MethodGet, "/v1/environments/"+id+"/receipt", nil)
		steps, _ := receipt["steps"].([]any)
		return code == http.StatusOK && len(steps) == 4
	}, 30*time.Second, 100*time.Millisecond, "the receipt never held the four steps: %v", &receipt)
	assert.Equal(t, id, receipt["environment_id"])
	for _, s := range receipt["steps"].([]any) {
		step := s.(map[string]any)
		assert.NotEmpty(t, step["method"], "%v", step)
		assert.NotEmpty(t, step["at"], "%v", step)
	}
	dbID, cacheID := resourceOf(env, "db")["id"].(string), cache["id"].(string)
	find := func(resourceID, action string) map[string]any {
		for _, s := range receipt["steps"].([]any) {
			if step := s.(map[string]any); step["resource_id"] == resourceID && step["action"] == action {
				return step
			}
		}
		t.Fatalf("no %s step for %s in %v", action, resourceID, receipt)
		return nil
	}
	s := find(dbID, "sanitize")
	assert.GreaterOrEqual(t, s["before"].(map[string]any)["objects_owned"], float64(1), "the table was there: %v", s)
	assert.Equal(t, float64(0), s["after"].(map[string]any)["objects_owned"], "and is gone: %v", s)
	assert.Contains(t, s["method"], "DROP OWNED BY")
	d := find(dbID, "deprovision")
	assert.Equal(t, true, d["existed"])
	assert.Equal(t, map[string]any{"role": float64(1), "database": float64(1), "objects_owned": float64(0)}, d["before"])
	assert.Equal(t, map[string]any{"role": float64(0), "database": float64(0), "objects_owned": float64(0)}, d["after"])
	assert.NotEmpty(t, d["credentials_revoked"], "the owner login ended with the database")
	c := find(cacheID, "sanitize")
	assert.Equal(t, map[string]any{"acl_user": float64(1), "keys": float64(2)}, c["before"])
	assert.Equal(t, map[string]any{"acl_user": float64(1), "keys": float64(0)}, c["after"])
	cd := find(cacheID, "deprovision")
	assert.Equal(t, map[string]any{"acl_user": float64(0), "keys": float64(0)}, cd["after"])
	assert.NotContains(t, mustJSON(t, receipt), "secret", "no data and no password in the receipt")

	// Another team's members learn nothing, not even that it is alpha's.
	code, body := getRawAs(t, eve, "/v1/environments/"+id+"/receipt")
	assert.Equal(t, http.StatusNotFound, code, body)
	assert.NotContains(t, body, "alpha")
	assert.NotContains(t, body, "steps")

	// The CLI prints it.
	cliEnv(t)
	t.Setenv("PAVE_SERVER", p.base)
	t.Setenv("PAVE_TOKEN", alpha["dan"].token)
	var outBuf, errBuf bytes.Buffer
	require.NoError(t, runEnv([]string{"receipt", id, "-o", "table"}, &outBuf, &errBuf), errBuf.String())
	assert.Contains(t, outBuf.String(), "Teardown receipt of "+id)
	assert.Contains(t, outBuf.String(), "objects_owned=0")
	assert.Contains(t, outBuf.String(), "keys=2")
	t.Setenv("PAVE_TOKEN", eve.token)
	err = runEnv([]string{"receipt", id}, &outBuf, &errBuf)
	require.Error(t, err, "another team's member is refused by the CLI too")
}
