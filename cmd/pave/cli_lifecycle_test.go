package main

import (
	"bytes"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// getEnv reads an environment with its ETag.
func (p *platform) getEnv(id string) (map[string]any, string) {
	p.t.Helper()
	req, err := http.NewRequest(http.MethodGet, p.base+"/v1/environments/"+id, nil)
	require.NoError(p.t, err)
	req.Header.Set("Authorization", "Bearer "+p.token)
	resp, err := http.DefaultClient.Do(req)
	require.NoError(p.t, err)
	defer resp.Body.Close()
	var env map[string]any
	require.NoError(p.t, json.NewDecoder(resp.Body).Decode(&env))
	return env, resp.Header.Get("ETag")
}

func (p *platform) idByName(team, name string) string {
	p.t.Helper()
	_, list := p.do(http.MethodGet, "/v1/environments?team="+team+"&name="+name, nil)
	items, _ := list["items"].([]any)
	require.Len(p.t, items, 1, "%v", list)
	return items[0].(map[string]any)["id"].(string)
}

// Issue 19, finding 12: 'env create --template preview' without --stage got
// a 422 although the template has one stage; 'env extend --ttl 2h' set the
// expiry 2h from now instead of adding 2h; there was no --if-match.
func TestCLIEnvDefaultsTheStageExtendAddsTimeAndIfMatchGuards(t *testing.T) {
	p := cliPlatform(t)
	var out, errOut bytes.Buffer
	require.NoError(t, runEnv([]string{"create", "--team", "payments", "--name", "pr-7", "--template", "preview",
		"--ttl", "4h", "-o", "json"}, &out, &errOut), "no --stage: the template's only stage: %s", errOut.String())
	id := p.idByName("payments", "pr-7")
	env, _ := p.getEnv(id)
	assert.Equal(t, "preview", env["stage"])
	before := timeField(t, env, "expires_at")

	out.Reset()
	require.NoError(t, runEnv([]string{"extend", id, "--ttl", "2h", "-o", "json"}, &out, &errOut), errOut.String())
	env, _ = p.getEnv(id)
	added := timeField(t, env, "expires_at").Sub(before)
	assert.True(t, added >= 2*time.Hour && added <= 2*time.Hour+5*time.Second, "--ttl adds 2h to the lease: added %s", added)

	start := time.Now()
	require.NoError(t, runEnv([]string{"extend", id, "--until", "10h", "-o", "json"}, &out, &errOut), errOut.String())
	env, etag := p.getEnv(id)
	assert.WithinRange(t, timeField(t, env, "expires_at"), start.Add(10*time.Hour-time.Second), time.Now().Add(10*time.Hour+time.Second),
		"--until counts from now")
	require.NotEmpty(t, etag)

	err := runEnv([]string{"update", id, "--param", "branch=feature", "--if-match", `"stale"`, "--no-wait"}, &out, &errOut)
	require.Error(t, err)
	assert.Contains(t, err.Error(), "412")
	err = runEnv([]string{"delete", id, "--if-match", `"stale"`}, &out, &errOut)
	require.Error(t, err)
	assert.Contains(t, err.Error(), "412")
	assert.Equal(t, "ready", p.state(id), "a stale If-Match changes nothing")

	require.NoError(t, runEnv([]string{"delete", id, "--if-match", etag, "--wait"}, &out, &errOut), errOut.String())
	assert.Equal(t, "deleted", p.state(id))
}

// Issue 19, finding 2, through the CLI: a budget-denied environment is
// deleted, and its name can be used again.
func TestCLIDeletesABudgetDeniedEnvironmentAndFreesItsName(t *testing.T) {
	p := cliPlatform(t)
	code, b := p.do(http.MethodPut, "/v1/budgets/poor", map[string]any{"amount": "0.00", "period": "monthly"})
	require.Equal(t, http.StatusOK, code, "%v", b)
	var out, errOut bytes.Buffer
	err := runEnv([]string{"create", "--team", "poor", "--name", "db", "--template", "redis-cache", "-o", "table"}, &out, &errOut)
	require.Error(t, err)
	require.Contains(t, err.Error(), "budget exceeded")
	failed := strings.Fields(err.Error())[1]

	require.NoError(t, runEnv([]string{"delete", failed, "-o", "json"}, &out, &errOut), "DELETE of a failed environment")
	assert.Equal(t, "deleted", p.state(failed))
	code, again := p.do(http.MethodPost, "/v1/environments", map[string]any{"team": "poor", "name": "db", "template": "redis-cache", "stage": "dev"})
	assert.Equal(t, http.StatusAccepted, code, "the name is free: %v", again)
}
