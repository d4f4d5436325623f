package main

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// accessAPI calls the API over a real socket with one token.
type accessAPI struct {
	t           *testing.T
	base, token string
}

func (a accessAPI) as(token string) accessAPI { return accessAPI{a.t, a.base, token} }

func (a accessAPI) call(method, path string, body any) (int, map[string]any) {
	a.t.Helper()
	var rd io.Reader
	switch b := body.(type) {
	case nil:
	case string: // sent as it is
		rd = strings.NewReader(b)
	default:
		raw, err := json.Marshal(body)
		require.NoError(a.t, err)
		rd = bytes.NewReader(raw)
	}
	req, err := http.NewRequest(method, a.base+path, rd)
	require.NoError(a.t, err)
	req.Header.Set("Authorization", "Bearer "+a.token)
	resp, err := http.DefaultClient.Do(req)
	require.NoError(a.t, err)
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	require.NoError(a.t, err)
	var out map[string]any
	_ = json.Unmarshal(raw, &out)
	return resp.StatusCode, out
}

func (a accessAPI) must(want int, method, path string, body any) map[string]any {
	a.t.Helper()
	code, out := a.call(method, path, body)
	require.Equal(a.t, want, code, "%s %s: %v", method, path, out)
	return out
}

func (a accessAPI) issue(user, expiresIn string) string {
	a.t.Helper()
	out := a.must(http.StatusCreated, http.MethodPost, "/v1/tokens", map[string]any{"user": user, "expires_in": expiresIn})
	return out["token"].(string)
}

func startAccess(t *testing.T) accessAPI {
	t.Helper()
	dir := t.TempDir()
	base, app := startDev(t, dir)
	t.Cleanup(func() { stopDev(t, app) })
	token, err := readToken(dir)
	require.NoError(t, err)
	return accessAPI{t: t, base: base, token: token}
}

// A team member's token works end to end with the member's real teams and
// roles; a developer cannot do production work; bad input answers a clear
// 4xx naming the field.
func TestAccessMembersTokensAndRoles(t *testing.T) {
	admin := startAccess(t)
	me := admin.must(http.StatusOK, http.MethodGet, "/v1/whoami", nil)
	assert.Contains(t, me["roles"], "platform-admin", "the bootstrap identity is the first platform admin")

	admin.must(http.StatusCreated, http.MethodPost, "/v1/teams", map[string]any{"name": "alpha"})
	admin.must(http.StatusOK, http.MethodPut, "/v1/teams/alpha/members/alice", map[string]any{"role": "developer"})
	alice := admin.as(admin.issue("alice", "1h"))

	who := alice.must(http.StatusOK, http.MethodGet, "/v1/whoami", nil)
	assert.Equal(t, []any{"alpha"}, who["teams"])
	assert.Equal(t, map[string]any{"alpha": "developer"}, who["team_roles"])
	alice.must(http.StatusOK, http.MethodGet, "/v1/teams/alpha/members", nil)

	out := alice.must(http.StatusForbidden, http.MethodPost, "/v1/environments",
		map[string]any{"team": "alpha", "name": "shop", "template": "redis-cache", "stage": "prod"})
	assert.Equal(t, []any{"production-needs-maintainer"}, out["policies"])
	alice.must(http.StatusForbidden, http.MethodPut, "/v1/teams/alpha/members/bob", map[string]any{"role": "viewer"})
	alice.must(http.StatusForbidden, http.MethodPost, "/v1/teams", map[string]any{"name": "mine"})

	tests := []struct {
		name, method, path string
		body               any
		status             int
		field              string
	}{
		{"unknown role", http.MethodPut, "/v1/teams/alpha/members/bob", map[string]any{"role": "owner"}, 422, "role"},
		{"bad team name", http.MethodPost, "/v1/teams", map[string]any{"name": "Not A Name"}, 422, "name"},
		{"unknown platform role", http.MethodPut, "/v1/users/bob/roles", map[string]any{"roles": []string{"root"}}, 422, "roles"},
		{"lifetime too long", http.MethodPost, "/v1/tokens", map[string]any{"user": "bob", "expires_in": "100000h"}, 422, "expires_in"},
		{"not json", http.MethodPost, "/v1/teams", "{", 400, "body"},
	}
	for _, tt := range tests {
		code, out := admin.call(tt.method, tt.path, tt.body)
		assert.Equal(t, tt.status, code, tt.name)
		raw, _ := json.Marshal(out["errors"])
		assert.Contains(t, string(raw), `"field":"`+tt.field+`"`, tt.name)
	}

	for name, token := range map[string]string{
		"malformed": "pave_NOT-A-TOKEN", "unknown": "pave_" + strings.Repeat("b", 52), "not pave": "ghp_abc",
	} {
		code, _ := alice.as(token).call(http.MethodGet, "/v1/whoami", nil)
		assert.Equal(t, http.StatusUnauthorized, code, name)
	}
	short := admin.as(admin.issue("alice", "1s"))
	require.Eventually(t, func() bool {
		code, _ := short.call(http.MethodGet, "/v1/whoami", nil)
		return code == http.StatusUnauthorized
	}, 10*time.Second, 100*time.Millisecond, "an expired token is refused")

	// Revocation works at once; last use is tracked.
	list := alice.must(http.StatusOK, http.MethodGet, "/v1/tokens", nil)["items"].([]any)
	require.NotEmpty(t, list)
	id := list[0].(map[string]any)["id"].(string)
	assert.NotContains(t, list[0], "hash", "a token's hash is never shown")
	alice.must(http.StatusOK, http.MethodDelete, "/v1/tokens/"+id, nil)
	code, _ := alice.call(http.MethodGet, "/v1/whoami", nil)
	assert.Equal(t, http.StatusUnauthorized, code, "a revoked token is refused")
}

// The isolation matrix: a member of team a on team b's objects gets 404 on
// every route, and every one of those decisions is in the audit ledger.
func TestAccessIsolationMatrix(t *testing.T) {
	admin := startAccess(t)
	for _, team := range []string{"a", "b"} {
		admin.must(http.StatusCreated, http.MethodPost, "/v1/teams", map[string]any{"name": team})
	}
	admin.must(http.StatusOK, http.MethodPut, "/v1/teams/a/members/amy", map[string]any{"role": "admin"})
	amy := admin.as(admin.issue("amy", "1h"))
	env := admin.must(http.StatusAccepted, http.MethodPost, "/v1/environments",
		map[string]any{"team": "b", "name": "secret", "template": "redis-cache", "stage": "dev"})
	envID := env["environment"].(map[string]any)["id"].(string)
	wlID := "wl-of-b"
	admin.must(http.StatusAccepted, http.MethodPost, "/v1/workloads", map[string]any{"id": wlID, "team": "b", "pool": "batch",
		"kind": "job", "demand": map[string]int{"cpu": 100}, "job": map[string]any{"command": "true"}})

	routes := []struct {
		method, path string
		body         any
	}{
		{http.MethodGet, "/v1/environments/" + envID, nil},
		{http.MethodPatch, "/v1/environments/" + envID, map[string]any{"parameters": map[string]any{}}},
		{http.MethodDelete, "/v1/environments/" + envID, nil},
		{http.MethodPost, "/v1/environments/" + envID + "/extend", map[string]any{"ttl": "1h"}},
		{http.MethodPost, "/v1/environments", map[string]any{"team": "b", "name": "x", "template": "redis-cache", "stage": "dev"}},
		{http.MethodGet, "/v1/environments?team=b", nil},
		{http.MethodGet, "/v1/workloads/" + wlID, nil},
		{http.MethodDelete, "/v1/workloads/" + wlID, nil},
		{http.MethodPost, "/v1/workloads", map[string]any{"team": "b", "pool": "batch", "kind": "job"}},
		{http.MethodGet, "/v1/workloads?team=b", nil},
		{http.MethodGet, "/v1/quotas/b", nil},
		{http.MethodGet, "/v1/costs?team=b", nil},
		{http.MethodGet, "/v1/costs/export?team=b", nil},
		{http.MethodPost, "/v1/costs/estimate", map[string]any{"team": "b", "template": "redis-cache"}},
		{http.MethodGet, "/v1/budgets?team=b", nil},
		{http.MethodGet, "/v1/budgets/b", nil},
		{http.MethodPut, "/v1/budgets/b", map[string]any{"amount": "1"}},
		{http.MethodGet, "/v1/teams/b", nil},
		{http.MethodGet, "/v1/teams/b/members", nil},
		{http.MethodPut, "/v1/teams/b/members/amy", map[string]any{"role": "admin"}},
		{http.MethodDelete, "/v1/teams/b/members/amy", nil},
		{http.MethodGet, "/v1/teams/b/service-accounts", nil},
		{http.MethodPost, "/v1/teams/b/service-accounts", map[string]any{"name": "ci", "role": "admin"}},
		{http.MethodDelete, "/v1/teams/b/service-accounts/ci", nil},
		{http.MethodPost, "/v1/tokens", map[string]any{"service_account": "b/ci"}},
		{http.MethodGet, "/v1/audit?team=b", nil},
	}
	for _, rt := range routes {
		code, out := amy.call(rt.method, rt.path, rt.body)
		assert.Equal(t, http.StatusNotFound, code, "%s %s: %v", rt.method, rt.path, out)
	}
	// Her own team's objects answer.
	amy.must(http.StatusOK, http.MethodGet, "/v1/teams/a/members", nil)

	recs := admin.must(http.StatusOK, http.MethodGet, "/v1/audit?actor=amy&limit=10000", nil)["items"].([]any)
	denied := 0
	for _, r := range recs {
		rec := r.(map[string]any)
		if rec["decision"] == "deny" && rec["team"] == "b" {
			denied++
		}
	}
	// Lookups of a resource of another team are decided (and recorded) like the rest.
	assert.Equal(t, len(routes), denied, "every refused call is a recorded deny decision")

	// Team a sees only its own records; the platform admin sees all.
	mine := amy.must(http.StatusOK, http.MethodGet, "/v1/audit", nil)["items"].([]any)
	require.NotEmpty(t, mine)
	for _, r := range mine {
		assert.Equal(t, "a", r.(map[string]any)["team"])
	}

	t.Setenv("PAVE_SERVER", admin.base)
	t.Setenv("PAVE_TOKEN", admin.token)
	var out bytes.Buffer
	require.NoError(t, runAccess("audit", []string{"verify"}, &out))
	assert.Contains(t, out.String(), "audit chain ok")
	require.NoError(t, runAccess("teams", []string{"list"}, &out))
	assert.Contains(t, out.String(), `"name": "b"`)
}

// The access-request routes are built (cmd/pave/jit_test.go); a request
// without a scope names the field.
func TestAccessRequestWithoutScopeNamesTheField(t *testing.T) {
	admin := startAccess(t)
	code, out := admin.call(http.MethodPost, "/v1/access-requests", map[string]any{"role": "maintainer"})
	assert.Equal(t, http.StatusUnprocessableEntity, code)
	assert.Contains(t, out["detail"], "scope.team")
}
