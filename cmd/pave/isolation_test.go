package main

import (
	"context"
	"encoding/json"
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/pave-platform/pave/pkg/authn"
	"github.com/pave-platform/pave/pkg/rpc"
)

// A member of team a never sees team b's environment: every call answers
// as if it did not exist, and the list leaves it out. Members come from
// the access issue; here the principal is handed to lifecycle directly,
// as the gateway does after authentication.
func TestATeamNeverSeesAnotherTeamsEnvironments(t *testing.T) {
	p := startPlatform(t, "../../deploy/templates", nil)
	id := p.create(map[string]any{"team": "b", "name": "secret", "template": "redis-cache", "stage": "dev"})
	p.waitState(id, "ready")

	memberOfA := authn.Principal{ID: "alice", Kind: "user", Teams: []string{"a"}}
	call := func(subject string, path map[string]string, body any) rpc.Reply {
		t.Helper()
		req := rpc.Request{Principal: memberOfA, Path: path}
		if body != nil {
			req.Body, _ = json.Marshal(body)
		}
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		rep, err := rpc.Call(ctx, p.js.Conn(), subject, req)
		require.NoError(t, err)
		return rep
	}
	byID := map[string]string{"id": id}
	for name, rep := range map[string]rpc.Reply{
		"get":    call(rpc.EnvironmentsGet, byID, nil),
		"delete": call(rpc.EnvironmentsDelete, byID, nil),
		"update": call(rpc.EnvironmentsUpdate, byID, map[string]any{"parameters": map[string]any{"size": "large"}}),
		"extend": call(rpc.EnvironmentsExtend, byID, map[string]any{"ttl": "1h"}),
		"credentials": call(rpc.ResourceCredentials,
			map[string]string{"environment_id": id, "resource_id": id + "-cache"}, nil),
	} {
		assert.Equal(t, http.StatusNotFound, rep.Status, "%s: %+v", name, rep.Problem)
	}
	var list struct{ Items []any }
	require.NoError(t, json.Unmarshal(call(rpc.EnvironmentsList, nil, nil).Body, &list))
	assert.Empty(t, list.Items)

	rep := call(rpc.EnvironmentsCreate, nil, map[string]any{"team": "b", "name": "x", "template": "redis-cache", "stage": "dev"})
	assert.Equal(t, http.StatusUnprocessableEntity, rep.Status, "creating in another team is refused")
	env := p.waitState(id, "ready")
	assert.EqualValues(t, 1, env["revision"], "nothing changed")
}

// Access requests, grants and reviews of team b are invisible to a member
// (even an admin) of team a: 404 on every route, and lists leave them out.
func TestAccessRequestsGrantsAndReviewsAreIsolated(t *testing.T) {
	admin := startAccess(t)
	for _, team := range []string{"a", "b"} {
		admin.must(http.StatusCreated, http.MethodPost, "/v1/teams", map[string]any{"name": team})
	}
	admin.must(http.StatusOK, http.MethodPut, "/v1/teams/a/members/amy", map[string]any{"role": "admin"})
	admin.must(http.StatusOK, http.MethodPut, "/v1/teams/b/members/ben", map[string]any{"role": "developer"})
	amy := admin.as(admin.issue("amy", "1h"))
	ben := admin.as(admin.issue("ben", "1h"))

	req := ben.must(http.StatusCreated, http.MethodPost, "/v1/access-requests", map[string]any{
		"role": "maintainer", "scope": map[string]any{"team": "b"}, "duration": "1h", "reason": "work"})
	grant := ben.must(http.StatusCreated, http.MethodPost, "/v1/break-glass", map[string]any{
		"incident_id": "INC-9", "reason": "outage", "scope": map[string]any{"team": "b", "stage": "prod"}, "duration": "30m"})
	review := admin.must(http.StatusCreated, http.MethodPost, "/v1/access-reviews", map[string]any{
		"team": "b", "deadline": time.Now().Add(time.Hour).UTC().Format(time.RFC3339)})
	reqID, grantID, reviewID := req["id"].(string), grant["id"].(string), review["id"].(string)

	for _, rt := range []struct {
		method, path string
		body         any
	}{
		{http.MethodGet, "/v1/access-requests/" + reqID, nil},
		{http.MethodPost, "/v1/access-requests/" + reqID + "/approve", map[string]any{}},
		{http.MethodPost, "/v1/access-requests/" + reqID + "/deny", map[string]any{"reason": "no"}},
		{http.MethodGet, "/v1/access-requests?team=b", nil},
		{http.MethodPost, "/v1/access-requests", map[string]any{"role": "admin", "scope": map[string]any{"team": "b"}, "duration": "1h", "reason": "x"}},
		{http.MethodGet, "/v1/grants/" + grantID, nil},
		{http.MethodDelete, "/v1/grants/" + grantID, nil},
		{http.MethodGet, "/v1/grants?team=b", nil},
		{http.MethodPost, "/v1/break-glass", map[string]any{"incident_id": "X", "reason": "x", "scope": map[string]any{"team": "b"}}},
		{http.MethodGet, "/v1/access-reviews/" + reviewID, nil},
		{http.MethodPost, "/v1/access-reviews/" + reviewID + "/decisions", map[string]any{"grant_id": grantID, "decision": "revoke"}},
		{http.MethodGet, "/v1/access-reviews/" + reviewID + "/export", nil},
		{http.MethodGet, "/v1/access-reviews?team=b", nil},
		{http.MethodPost, "/v1/access-reviews", map[string]any{"team": "b", "deadline": time.Now().Add(time.Hour).UTC().Format(time.RFC3339)}},
	} {
		code, out := amy.call(rt.method, rt.path, rt.body)
		assert.Equal(t, http.StatusNotFound, code, "%s %s: %v", rt.method, rt.path, out)
	}
	for _, path := range []string{"/v1/access-requests", "/v1/grants", "/v1/access-reviews"} {
		items := amy.must(http.StatusOK, http.MethodGet, path, nil)["items"].([]any)
		assert.Empty(t, items, path)
	}
	// Nothing changed: the request is pending, the grant active.
	assert.Equal(t, "pending", ben.must(http.StatusOK, http.MethodGet, "/v1/access-requests/"+reqID, nil)["state"])
	assert.Equal(t, true, ben.must(http.StatusOK, http.MethodGet, "/v1/grants/"+grantID, nil)["active"])
	// A developer of b sees the review but may not decide it (maintainers do).
	ben.must(http.StatusOK, http.MethodGet, "/v1/access-reviews/"+reviewID, nil)
	ben.must(http.StatusForbidden, http.MethodPost, "/v1/access-reviews/"+reviewID+"/decisions",
		map[string]any{"grant_id": grantID, "decision": "revoke"})
}
