package main

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	standardwebhooks "github.com/standard-webhooks/standard-webhooks/libraries/go"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// hookReceiver verifies each delivery with the Standard Webhooks
// reference library and keeps the transitions it got, deduplicated on
// webhook-id.
type hookReceiver struct {
	mu     sync.Mutex
	secret string
	seen   map[string]bool
	states []string
	bad    []string
}

func (h *hookReceiver) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	h.mu.Lock()
	defer h.mu.Unlock()
	wh, err := standardwebhooks.NewWebhook(h.secret)
	if err == nil {
		err = wh.Verify(body, r.Header)
	}
	if err != nil {
		h.bad = append(h.bad, err.Error())
		w.WriteHeader(http.StatusUnauthorized)
		return
	}
	id := r.Header.Get("webhook-id")
	if !h.seen[id] {
		h.seen[id] = true
		var ce struct {
			Type string `json:"type"`
			Data struct {
				To string `json:"to"`
			} `json:"data"`
		}
		_ = json.Unmarshal(body, &ce)
		if strings.HasSuffix(ce.Type, ".environment.transitioned.v1") {
			h.states = append(h.states, ce.Data.To)
		}
	}
	w.WriteHeader(http.StatusOK)
}

func (h *hookReceiver) got() []string {
	h.mu.Lock()
	defer h.mu.Unlock()
	return append([]string(nil), h.states...)
}

// With `pave dev`, a subscription made with the CLI to a local receiver
// gets an environment's whole life (create to teardown) as signed
// CloudEvents; deliveries, replay, alerts and delete work from the CLI.
func TestSubscriptionsCLIDeliversAnEnvironmentsLife(t *testing.T) {
	p := startPlatform(t, "../../deploy/templates", map[string]string{
		"PAVE_NOTIFY_ALLOW_CIDRS": "127.0.0.0/8", "PAVE_NOTIFY_ALLOW_HTTP": "true", "PAVE_NOTIFY_RETRY_BASE": "100ms"})
	rc := &hookReceiver{seen: map[string]bool{}}
	srv := httptest.NewServer(rc)
	defer srv.Close()
	t.Setenv("PAVE_SERVER", p.base)
	t.Setenv("PAVE_TOKEN", p.token)
	cli := func(args ...string) map[string]any {
		t.Helper()
		var out bytes.Buffer
		require.NoError(t, runSubscriptions(args[0], append(args[1:], "-o", "json"), &out), "pave %v", args)
		var v map[string]any
		require.NoError(t, json.Unmarshal(out.Bytes(), &v), out.String())
		return v
	}
	sub := cli("subscriptions", "create", "--url", srv.URL+"/hook", "--team", "payments", "--types", "dev.pave.lifecycle.environment.*")
	id := sub["id"].(string)
	rc.mu.Lock()
	rc.secret = sub["secret"].(string)
	rc.mu.Unlock()
	listed := cli("subscriptions", "list", "--team", "payments")["items"].([]any)
	require.Len(t, listed, 1)
	assert.NotContains(t, listed[0], "secret")

	env := p.create(map[string]any{"team": "payments", "name": "hooked", "template": "web-service", "stage": "dev"})
	p.waitState(env, "ready")
	code, out := p.do(http.MethodDelete, "/v1/environments/"+env, nil)
	require.Equal(t, http.StatusAccepted, code, "%v", out)
	require.Eventually(t, func() bool {
		s := rc.got()
		return len(s) > 0 && s[len(s)-1] == "deleted"
	}, 90*time.Second, 100*time.Millisecond, "the receiver did not get the teardown: %v", rc.got)
	got := rc.got()
	assert.Equal(t, "requested", got[0])
	assert.Contains(t, got, "queued")
	assert.Contains(t, got, "provisioning")
	assert.Contains(t, got, "ready")
	assert.Contains(t, got, "decommissioning")
	assert.Empty(t, rc.bad, "every delivery verifies")

	dels := cli("subscriptions", "deliveries", id)["items"].([]any)
	require.Len(t, dels, len(got))
	first := dels[len(dels)-1].(map[string]any)
	assert.Equal(t, "delivered", first["state"])
	replay := cli("subscriptions", "replay", id, "--from-event", first["event_id"].(string))
	assert.EqualValues(t, len(got), replay["queued"])

	assert.NotNil(t, cli("alerts", "list")["items"])
	err := runSubscriptions("alerts", []string{"ack", "payments.nope"}, io.Discard)
	require.Error(t, err)
	assert.Equal(t, 3, exitCode(err), "a missing alert is not found")

	var buf bytes.Buffer
	require.NoError(t, runSubscriptions("subscriptions", []string{"delete", id}, &buf))
	assert.Contains(t, buf.String(), "deleted "+id)
	assert.Empty(t, cli("subscriptions", "list", "--team", "payments")["items"])
}
