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
