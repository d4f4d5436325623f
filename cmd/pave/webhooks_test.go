package main

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

const webhookFixtures = "../../services/gateway/internal/webhooks/testdata/github/"

// sendGitHub posts a GitHub delivery signed with secret.
func (p *platform) sendGitHub(event, fixture, secret, delivery string) (int, map[string]any) {
	p.t.Helper()
	body, err := os.ReadFile(webhookFixtures + fixture)
	require.NoError(p.t, err)
	req, err := http.NewRequest(http.MethodPost, p.base+"/v1/webhooks/github", bytes.NewReader(body))
	require.NoError(p.t, err)
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("X-GitHub-Event", event)
	req.Header.Set("X-GitHub-Delivery", delivery)
	req.Header.Set("X-Hub-Signature-256", githubSignature([]byte(secret), body))
	return p.send(req)
}

func (p *platform) send(req *http.Request) (int, map[string]any) {
	p.t.Helper()
	resp, err := http.DefaultClient.Do(req)
	require.NoError(p.t, err)
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	var out map[string]any
	_ = json.Unmarshal(raw, &out)
	return resp.StatusCode, out
}

// environmentNamed polls the team's environments for a live one called name.
func (p *platform) environmentNamed(team, name string) string {
	p.t.Helper()
	var id string
	require.Eventually(p.t, func() bool {
		_, out := p.do(http.MethodGet, "/v1/environments?team="+team, nil)
		items, _ := out["items"].([]any)
		for _, it := range items {
			env := it.(map[string]any)
			if env["name"] == name && env["state"] != "deleted" {
				id = env["id"].(string)
				return true
			}
		}
		return false
	}, 30*time.Second, 100*time.Millisecond, "no environment %s in team %s", name, team)
	return id
}

func TestSignedPullRequestMakesAndTearsDownAPreview(t *testing.T) {
	p := startPlatform(t, "../../deploy/templates", map[string]string{"PAVE_REPOSITORIES_FILE": "../../deploy/repositories.yaml"})
	raw, err := os.ReadFile(filepath.Join(os.Getenv("PAVE_DATA_DIR"), "webhook-secret"))
	require.NoError(t, err, "pave dev generates the demo webhook secret")
	secret := strings.TrimSpace(string(raw))

	code, out := p.sendGitHub("pull_request", "pull_request_opened.json", secret, "e2e-opened-1")
	require.Equal(t, http.StatusAccepted, code, "%v", out)
	id := p.environmentNamed("demo", "hello-world-pr-2")
	env := p.waitState(id, "ready")
	assert.Equal(t, "preview", env["stage"])
	assert.Equal(t, true, env["ephemeral"])

	code, out = p.sendGitHub("pull_request", "pull_request_opened.json", secret, "e2e-opened-1")
	assert.Equal(t, http.StatusOK, code)
	assert.Equal(t, true, out["duplicate"], "a redelivery is answered and ignored")

	code, out = p.sendGitHub("pull_request", "pull_request_closed.json", secret, "e2e-closed-1")
	require.Equal(t, http.StatusAccepted, code, "%v", out)
	p.waitState(id, "deleted")
	assert.Equal(t, none(), p.realResources(), "teardown leaves nothing")

	code, out = p.sendGitHub("pull_request", "pull_request_opened.json", "not-the-secret", "e2e-forged-1")
	assert.Equal(t, http.StatusUnauthorized, code)
	assert.Contains(t, out["detail"], "X-Hub-Signature-256")
}

func TestCloudEventIngressOverHTTP(t *testing.T) {
	p := startPlatform(t, "../../deploy/templates", nil)
	data := `{"provider":"ci","repository":"Codertocat/Hello-World","team":"demo","application":"",` +
		`"commit":"6113728f27ae82c7b1a177c8d03f9e96e0adf246","conclusion":"success","name":"build","url":"","delivery_id":"b-1"}`
	post := func(id, body string) (int, map[string]any) {
		req, err := http.NewRequest(http.MethodPost, p.base+"/v1/events", strings.NewReader(body))
		require.NoError(t, err)
		req.Header.Set("Authorization", "Bearer "+p.token)
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("ce-specversion", "1.0")
		req.Header.Set("ce-id", id)
		req.Header.Set("ce-source", "ci/builder")
		req.Header.Set("ce-type", "dev.pave.gateway.ci.completed.v1")
		return p.send(req)
	}
	code, out := post("ce-e2e-1", data)
	require.Equal(t, http.StatusAccepted, code, "%v", out)
	assert.Equal(t, []any{"ce-e2e-1"}, out["ids"])

	code, out = post("ce-e2e-2", strings.Replace(data, `"conclusion":"success"`, `"conclusion":"green"`, 1))
	assert.Equal(t, http.StatusBadRequest, code)
	assert.Contains(t, out["detail"], "data/conclusion")

	req, err := http.NewRequest(http.MethodPost, p.base+"/v1/events", strings.NewReader(data))
	require.NoError(t, err)
	code, _ = p.send(req)
	assert.Equal(t, http.StatusUnauthorized, code, "the ingress needs a token")
}

func githubSignature(secret, body []byte) string {
	mac := hmac.New(sha256.New, secret)
	mac.Write(body)
	return "sha256=" + hex.EncodeToString(mac.Sum(nil))
}
