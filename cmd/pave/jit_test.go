package main

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/pave-platform/pave/pkg/bus"
	"github.com/pave-platform/pave/pkg/rpc"
)

// A developer may create a dev environment but not change a production
// one; a just-in-time request approved by a second person lets her for the
// granted time and not a second longer, and the revocation is announced
// within a second of the expiry.
func TestJITGrantLetsADeveloperChangeProductionForTheGrantedTimeOnly(t *testing.T) {
	dir := t.TempDir()
	base, app, js := startDevJS(t, dir)
	t.Cleanup(func() { stopDev(t, app) })
	token, err := readToken(dir)
	require.NoError(t, err)
	admin := accessAPI{t: t, base: base, token: token}

	admin.must(http.StatusCreated, http.MethodPost, "/v1/teams", map[string]any{"name": "alpha"})
	admin.must(http.StatusOK, http.MethodPut, "/v1/teams/alpha/members/alice", map[string]any{"role": "developer"})
	admin.must(http.StatusOK, http.MethodPut, "/v1/teams/alpha/members/bob", map[string]any{"role": "maintainer"})
	alice := admin.as(admin.issue("alice", "1h"))
	bob := admin.as(admin.issue("bob", "1h"))

	alice.must(http.StatusAccepted, http.MethodPost, "/v1/environments",
		map[string]any{"team": "alpha", "name": "mine", "template": "redis-cache", "stage": "dev"})
	prod := admin.must(http.StatusAccepted, http.MethodPost, "/v1/environments",
		map[string]any{"team": "alpha", "name": "shop", "template": "redis-cache", "stage": "prod"})
	prodID := prod["environment"].(map[string]any)["id"].(string)
	update := func() (int, map[string]any) {
		return alice.call(http.MethodPatch, "/v1/environments/"+prodID, map[string]any{"parameters": map[string]any{}})
	}
	code, out := update()
	require.Equal(t, http.StatusForbidden, code, "%v", out)
	assert.Equal(t, []any{"production-needs-maintainer"}, out["policies"])
	code, _ = alice.call(http.MethodDelete, "/v1/environments/"+prodID, nil)
	assert.Equal(t, http.StatusForbidden, code, "nor delete it")

	// Bad requests: a clear 4xx naming the field, nothing granted.
	for field, body := range map[string]map[string]any{
		"role":     {"role": "owner", "scope": map[string]any{"team": "alpha"}, "duration": "1h", "reason": "x"},
		"duration": {"role": "maintainer", "scope": map[string]any{"team": "alpha"}, "duration": "100h", "reason": "x"},
		"reason":   {"role": "maintainer", "scope": map[string]any{"team": "alpha"}, "duration": "1h"},
	} {
		code, out := alice.call(http.MethodPost, "/v1/access-requests", body)
		assert.Equal(t, http.StatusUnprocessableEntity, code, field)
		raw, _ := json.Marshal(out["errors"])
		assert.Contains(t, string(raw), `"field":"`+field+`"`, field)
	}
	code, _ = alice.call(http.MethodPost, "/v1/access-requests", map[string]any{"role": "maintainer", "duration": "1h", "reason": "x"})
	assert.Equal(t, http.StatusUnprocessableEntity, code, "scope.team is required")
	code, _ = alice.as("pave_not-a-token").call(http.MethodPost, "/v1/access-requests", map[string]any{})
	assert.Equal(t, http.StatusUnauthorized, code, "a malformed token")
	grants := admin.must(http.StatusOK, http.MethodGet, "/v1/grants?team=alpha", nil)["items"].([]any)
	assert.Empty(t, grants, "nothing granted")

	req := alice.must(http.StatusCreated, http.MethodPost, "/v1/access-requests", map[string]any{
		"role": "maintainer", "scope": map[string]any{"team": "alpha", "environment_id": prodID},
		"duration": "8s", "reason": "hotfix for INC-7"})
	id := req["id"].(string)
	assert.Equal(t, "pending", req["state"])
	alice.must(http.StatusForbidden, http.MethodPost, "/v1/access-requests/"+id+"/approve", map[string]any{}) // developers do not review
	own := bob.must(http.StatusCreated, http.MethodPost, "/v1/access-requests", map[string]any{
		"role": "maintainer", "scope": map[string]any{"team": "alpha"}, "duration": "1h", "reason": "on call"})
	out = bob.must(http.StatusForbidden, http.MethodPost, "/v1/access-requests/"+own["id"].(string)+"/approve", map[string]any{})
	assert.Contains(t, out["detail"], "own request", "self-approval is refused")
	list := alice.must(http.StatusOK, http.MethodGet, "/v1/access-requests", nil)["items"].([]any)
	require.Len(t, list, 2, "her own and her team's")
	code, _ = update()
	require.Equal(t, http.StatusForbidden, code, "a pending request grants nothing")

	approved := bob.must(http.StatusOK, http.MethodPost, "/v1/access-requests/"+id+"/approve", map[string]any{"reason": "ok"})
	assert.Equal(t, "approved", approved["state"])
	grant := bob.must(http.StatusOK, http.MethodGet, "/v1/grants/"+approved["grant_id"].(string), nil)
	expires, err := time.Parse(time.RFC3339Nano, grant["expires_at"].(string))
	require.NoError(t, err)

	var last map[string]any
	require.Eventually(t, func() bool {
		code, out := update()
		last = out
		return code != http.StatusForbidden && code != http.StatusNotFound
	}, 6*time.Second, 20*time.Millisecond, "the grant lets her change the production environment: %v", &last)
	require.True(t, time.Now().Before(expires))

	time.Sleep(time.Until(expires))
	code, out = update()
	assert.Equal(t, http.StatusForbidden, code, "not a second longer: %v", out)

	// The revocation is announced within a second of the expiry.
	var revokedAt time.Time
	require.Eventually(t, func() bool {
		revokedAt = revokedEvent(t, js, approved["grant_id"].(string))
		return !revokedAt.IsZero()
	}, 5*time.Second, 50*time.Millisecond)
	assert.False(t, revokedAt.Before(expires))
	assert.Less(t, revokedAt.Sub(expires), time.Second)
	ended := bob.must(http.StatusOK, http.MethodGet, "/v1/grants/"+approved["grant_id"].(string), nil)
	assert.Equal(t, "ended", ended["state"])
	assert.Equal(t, "expired", ended["ended_reason"])
	assert.NotEmpty(t, ended["last_used_at"], "the grant's use is recorded")

	// pave.access.grants.list, as another service (no principal) calls it.
	listGrants := func(q map[string]string) []map[string]any {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		rep, err := rpc.Call(ctx, js.Conn(), rpc.GrantsList, rpc.Request{Query: q})
		require.NoError(t, err)
		require.Equal(t, http.StatusOK, rep.Status)
		var out struct{ Items []map[string]any }
		require.NoError(t, json.Unmarshal(rep.Body, &out))
		return out.Items
	}
	all := listGrants(map[string]string{"team": "alpha", "environment_id": prodID})
	require.Len(t, all, 1)
	assert.Equal(t, approved["grant_id"], all[0]["grant_id"])
	assert.Equal(t, "alice", all[0]["principal"])
	assert.Equal(t, false, all[0]["break_glass"])
	assert.Empty(t, listGrants(map[string]string{"team": "alpha", "active": "true"}), "an ended grant is not active")
}

// revokedEvent finds the revoked event of a grant in EVT_ACCESS.
func revokedEvent(t *testing.T, js jetstream.JetStream, grant string) time.Time {
	t.Helper()
	ctx := context.Background()
	c, err := js.OrderedConsumer(ctx, "EVT_ACCESS", jetstream.OrderedConsumerConfig{FilterSubjects: []string{"pave.evt.access.grant.revoked"}})
	require.NoError(t, err)
	batch, err := c.FetchNoWait(1000)
	require.NoError(t, err)
	for m := range batch.Messages() {
		e, err := bus.Decode(m.Headers(), m.Data())
		require.NoError(t, err)
		var v struct {
			GrantID   string    `json:"grant_id"`
			Reason    string    `json:"reason"`
			RevokedAt time.Time `json:"revoked_at"`
		}
		require.NoError(t, json.Unmarshal(e.Data(), &v))
		if v.GrantID == grant && v.Reason == "expired" {
			return v.RevokedAt
		}
	}
	return time.Time{}
}

// The pave access commands: request, list, approve, break-glass, reviews,
// with -o json.
func TestAccessCLIRequestApproveBreakGlassAndReview(t *testing.T) {
	admin := startAccess(t)
	admin.must(http.StatusCreated, http.MethodPost, "/v1/teams", map[string]any{"name": "alpha"})
	admin.must(http.StatusOK, http.MethodPut, "/v1/teams/alpha/members/alice", map[string]any{"role": "developer"})
	alice := admin.issue("alice", "1h")
	t.Setenv("PAVE_SERVER", admin.base)
	run := func(token string, args ...string) map[string]any {
		t.Helper()
		t.Setenv("PAVE_TOKEN", token)
		var out bytes.Buffer
		require.NoError(t, runJIT(append(args, "-o", "json"), &out), "pave access %v", args)
		var v map[string]any
		require.NoError(t, json.Unmarshal(out.Bytes(), &v), out.String())
		return v
	}
	req := run(alice, "request", "--role", "maintainer", "--team", "alpha", "--stage", "prod", "--duration", "1h", "--reason", "deploy fix")
	assert.Equal(t, "pending", req["state"])
	assert.Equal(t, map[string]any{"kind": "stage", "stage": "prod"}, req["scope"])
	list := run(alice, "list")["items"].([]any)
	require.Len(t, list, 1)
	approved := run(admin.token, "approve", req["id"].(string))
	assert.Equal(t, "approved", approved["state"])
	grants := run(alice, "grants", "--active")["items"].([]any)
	require.Len(t, grants, 1)
	bg := run(alice, "break-glass", "--incident", "INC-1", "--reason", "outage", "--team", "alpha", "--stage", "prod", "--duration", "15m")
	assert.Equal(t, "break_glass", bg["kind"])
	short := run(alice, "break-glass", "--incident", "INC-2", "--reason", "blip", "--team", "alpha", "--environment", "env-x", "--duration", "5m")
	ended := run(alice, "end", short["id"].(string))
	assert.Equal(t, false, ended["active"], "the holder ends her own grant")
	deadline := time.Now().Add(time.Hour).UTC().Format(time.RFC3339)
	rv := run(admin.token, "reviews", "create", "--team", "alpha", "--deadline", deadline)
	// The two grants and alice's membership.
	assert.Len(t, rv["items"], 3)
	decided := run(admin.token, "reviews", "decide", rv["id"].(string), bg["id"].(string), "revoke")
	assert.Equal(t, "open", decided["state"])

	t.Setenv("PAVE_TOKEN", admin.token)
	var csv bytes.Buffer
	require.NoError(t, runJIT([]string{"reviews", "export", rv["id"].(string), "--format", "csv"}, &csv))
	assert.Contains(t, csv.String(), bg["id"].(string)+",alice,break_glass,maintainer,stage:prod,")
	err := runJIT([]string{"request", "--role", "owner", "--team", "alpha", "--duration", "1h", "--reason", "x"}, &csv)
	require.Error(t, err)
	assert.Contains(t, err.Error(), "role")
}
