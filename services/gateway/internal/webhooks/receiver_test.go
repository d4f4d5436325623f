package webhooks

import (
	"bytes"
	"context"
	"errors"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/cloudevents/sdk-go/v2/event"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/pave-platform/pave/pkg/bus"
)

func TestGitHubDocumentedTestVector(t *testing.T) {
	want := "sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17"
	secret, body := []byte("It's a Secret to Everybody"), []byte("Hello, World!")
	assert.Equal(t, want, SignGitHub(secret, body))
	assert.True(t, hmacHexValid(want, body, [][]byte{secret}))
	assert.True(t, hmacHexValid(want, body, [][]byte{[]byte("other"), secret}), "either of two secrets")
	assert.False(t, hmacHexValid(want, []byte("Hello, World?"), [][]byte{secret}))
	assert.False(t, hmacHexValid("sha1=757107ea", body, [][]byte{secret}))
}

func TestGitHubDeliveriesAreVerifiedBeforeStored(t *testing.T) {
	r := newRig(t, nil)
	opened := fixture(t, "github/pull_request_opened.json")
	unknown := bytes.ReplaceAll(opened, []byte(`"full_name": "Codertocat/Hello-World"`), []byte(`"full_name": "someone/else"`))
	require.NotEqual(t, opened, unknown)
	ping := fixture(t, "github/ping.json")
	tests := []struct {
		name    string
		event   string
		body    []byte
		headers map[string]string
		status  int
		field   string
	}{
		{"good signature", "pull_request", opened, signed(secretNew, opened), http.StatusAccepted, ""},
		{"the older of two secrets during a rotation", "pull_request", opened, signed(secretOld, opened), http.StatusAccepted, ""},
		{"bad signature", "pull_request", opened, signed("guess", opened), http.StatusUnauthorized, "header.X-Hub-Signature-256"},
		{"missing signature", "pull_request", opened, map[string]string{}, http.StatusUnauthorized, "header.X-Hub-Signature-256"},
		{"unknown repository", "pull_request", unknown, signed(secretNew, unknown), http.StatusNotFound, "repository"},
		{"malformed JSON", "pull_request", []byte(`{"repository":`), signed(secretNew, []byte(`{"repository":`)), http.StatusBadRequest, "body"},
		{"oversized body", "pull_request", bytes.Repeat([]byte(" "), MaxBodyBytes+1), map[string]string{"X-Hub-Signature-256": "sha256=00"}, http.StatusRequestEntityTooLarge, "body"},
		{"ping of an unmapped repository", "ping", ping, signed(secretNew, ping), http.StatusNotFound, "repository"},
		{"unsupported event", "issues", opened, signed(secretNew, opened), http.StatusNoContent, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := map[string]string{"X-GitHub-Event": tt.event, "X-GitHub-Delivery": newDelivery()}
			for k, v := range tt.headers {
				h[k] = v
			}
			code, out := r.post("/v1/webhooks/github", tt.body, h)
			assert.Equal(t, tt.status, code, "%v", out)
			if tt.field != "" {
				require.NotNil(t, out)
				assert.Equal(t, tt.field, out["errors"].([]any)[0].(map[string]any)["field"], "%v", out)
			}
		})
	}
	code, _ := r.post("/v1/webhooks/bitbucket", opened, nil)
	assert.Equal(t, http.StatusNotFound, code, "unknown provider")
}

func signed(secret string, body []byte) map[string]string {
	return map[string]string{"X-Hub-Signature-256": SignGitHub([]byte(secret), body)}
}

func TestGitHubPingOfAMappedRepositoryIsAnswered(t *testing.T) {
	r := newRig(t, nil)
	ping := bytes.Replace(fixture(t, "github/ping.json"), []byte(`"Octocoders/Hello-World"`), []byte(`"Codertocat/Hello-World"`), 1)
	code, out := r.github("ping", ping, secretNew, newDelivery())
	assert.Equal(t, http.StatusOK, code)
	assert.Equal(t, "pong", out["ping"])
}

func TestPullRequestOpensUpdatesAndClosesItsPreview(t *testing.T) {
	r := newRig(t, nil)
	code, out := r.github("pull_request", fixture(t, "github/pull_request_opened.json"), secretNew, newDelivery())
	require.Equal(t, http.StatusAccepted, code, "%v", out)
	var env map[string]any
	require.Eventually(t, func() bool { env = r.life.byName("hello-world-pr-2"); return env != nil }, 10*time.Second, 20*time.Millisecond)
	assert.Equal(t, "demo", env["team"])
	assert.Equal(t, "preview", env["template"])
	assert.Equal(t, "2h", env["ttl"])
	assert.Equal(t, "ec26c3e57ca3a959ca5aad62de7213c562f8c821", env["commit"])
	assert.Equal(t, map[string]any{"branch": "changes", "pull_request": float64(2), "size": "small"}, env["parameters"])
	assert.Equal(t, "webhook:github:Codertocat/Hello-World", env["created_by"])

	newSHA := "1111111111111111111111111111111111111111"
	sync := bytes.ReplaceAll(fixture(t, "github/pull_request_synchronize.json"),
		[]byte(`"sha": "ec26c3e57ca3a959ca5aad62de7213c562f8c821"`), []byte(`"sha": "`+newSHA+`"`))
	code, _ = r.github("pull_request", sync, secretNew, newDelivery())
	require.Equal(t, http.StatusAccepted, code)
	require.Eventually(t, func() bool { return r.life.count("update") == 1 }, 10*time.Second, 20*time.Millisecond)
	assert.Equal(t, newSHA, r.life.byName("hello-world-pr-2")["commit"])

	code, _ = r.github("pull_request", fixture(t, "github/pull_request_closed.json"), secretNew, newDelivery())
	require.Equal(t, http.StatusAccepted, code)
	require.Eventually(t, func() bool { return r.life.byName("hello-world-pr-2") == nil }, 10*time.Second, 20*time.Millisecond)
	assert.Equal(t, 1, r.life.count("create"))
	assert.Equal(t, 1, r.life.count("delete"))
}

func TestReplayedDeliveryIsHarmlessAndCreatesNothingTwice(t *testing.T) {
	r := newRig(t, nil)
	body, id := fixture(t, "github/pull_request_opened.json"), newDelivery()
	code, _ := r.github("pull_request", body, secretNew, id)
	require.Equal(t, http.StatusAccepted, code)
	code, out := r.github("pull_request", body, secretNew, id)
	assert.Equal(t, http.StatusOK, code)
	assert.Equal(t, true, out["duplicate"])
	require.Eventually(t, func() bool { return r.life.byName("hello-world-pr-2") != nil }, 10*time.Second, 20*time.Millisecond)

	// The stored delivery handled again (a crash before its ack) finds
	// the environment and creates nothing.
	e, err := deliveryEvent("github", delivery{event: "pull_request", id: id, repository: "Codertocat/Hello-World"}, body, time.Now())
	require.NoError(t, err)
	require.NoError(t, r.proc.Handle(context.Background(), e))
	assert.Equal(t, 1, r.life.count("create"), "one environment, however often the delivery arrives")

	st, err := r.js.Stream(context.Background(), "CMD_GATEWAY")
	require.NoError(t, err)
	info, err := st.Info(context.Background())
	require.NoError(t, err)
	assert.Equal(t, uint64(1), info.State.LastSeq, "the replay was not stored")
}

// failingOnce fails its first publish, as a JetStream outage would.
type failingOnce struct {
	Publisher
	failed bool
}

func (f *failingOnce) Publish(ctx context.Context, e event.Event) error {
	if !f.failed {
		f.failed = true
		return errors.New("no JetStream")
	}
	return f.Publisher.Publish(ctx, e)
}

func TestDeliveryThatCouldNotBeStoredCanBeRetried(t *testing.T) {
	r := newRig(t, func(b *bus.Bus) Publisher { return &failingOnce{Publisher: b} })
	body, id := fixture(t, "github/pull_request_opened.json"), newDelivery()
	code, _ := r.github("pull_request", body, secretNew, id)
	assert.Equal(t, http.StatusServiceUnavailable, code)
	code, out := r.github("pull_request", body, secretNew, id)
	assert.Equal(t, http.StatusAccepted, code, "the retry is not taken for a duplicate: %v", out)
	require.Eventually(t, func() bool { return r.life.byName("hello-world-pr-2") != nil }, 10*time.Second, 20*time.Millisecond)
}

func TestPushCIAndDeploymentBecomeGatewayEvents(t *testing.T) {
	r := newRig(t, nil)
	id := newDelivery()
	code, _ := r.github("push", fixture(t, "github/push_with-new-branch.json"), secretNew, id)
	require.Equal(t, http.StatusAccepted, code)
	var pushed map[string]any
	require.Eventually(t, func() bool { pushed = r.lastEvent("pave.evt.gateway.git.pushed"); return pushed != nil }, 10*time.Second, 20*time.Millisecond)
	assert.Equal(t, map[string]any{"provider": "github", "repository": "Codertocat/Hello-World", "team": "demo",
		"application": "hello-world", "branch": "master", "commit": "6113728f27ae82c7b1a177c8d03f9e96e0adf246",
		"default_branch": true, "delivery_id": id, "sender": "Codertocat"}, pushed)

	code, _ = r.github("check_suite", fixture(t, "github/check_suite_completed.json"), secretNew, newDelivery())
	require.Equal(t, http.StatusAccepted, code)
	var ci map[string]any
	require.Eventually(t, func() bool { ci = r.lastEvent("pave.evt.gateway.ci.completed"); return ci != nil }, 10*time.Second, 20*time.Millisecond)
	assert.Equal(t, "success", ci["conclusion"])
	assert.Equal(t, "ec26c3e57ca3a959ca5aad62de7213c562f8c821", ci["commit"])

	code, _ = r.github("deployment_status", fixture(t, "github/deployment_status.json"), secretNew, newDelivery())
	require.Equal(t, http.StatusAccepted, code)
	var dep map[string]any
	require.Eventually(t, func() bool { dep = r.lastEvent("pave.evt.gateway.deployment.recorded"); return dep != nil }, 10*time.Second, 20*time.Millisecond)
	assert.Equal(t, "production", dep["environment"])
	assert.Equal(t, "success", dep["state"])
	assert.Equal(t, "f95f852bd8fca8fcc58a9a2d6c842781e32a215e", dep["commit"])
}

func TestGitLabTokenAndStandardWebhooksSignature(t *testing.T) {
	r := newRig(t, nil)
	mr := fixture(t, "gitlab/merge_request.json")
	hook := func(extra map[string]string) map[string]string {
		h := map[string]string{"X-Gitlab-Event": "Merge Request Hook", "Idempotency-Key": newDelivery()}
		for k, v := range extra {
			h[k] = v
		}
		return h
	}
	code, out := r.post("/v1/webhooks/gitlab", mr, hook(map[string]string{"X-Gitlab-Token": gitlabToken}))
	require.Equal(t, http.StatusAccepted, code, "%v", out)
	require.Eventually(t, func() bool { return r.life.byName("gitlab-test-pr-1") != nil }, 10*time.Second, 20*time.Millisecond)

	code, out = r.post("/v1/webhooks/gitlab", mr, hook(map[string]string{"X-Gitlab-Token": "wrong"}))
	assert.Equal(t, http.StatusUnauthorized, code)
	assert.Contains(t, out["detail"], "X-Gitlab-Token")
	code, _ = r.post("/v1/webhooks/gitlab", mr, hook(nil))
	assert.Equal(t, http.StatusUnauthorized, code)

	// gitlab-org/gitlab-test has a signing secret: Standard Webhooks.
	pipeline := fixture(t, "gitlab/pipeline.json")
	now := strconv.FormatInt(time.Now().Unix(), 10)
	sig := SignStandard([]byte("whsec_"+signingKey64), "msg_1", now, pipeline)
	std := func(id, ts, s string) map[string]string {
		return map[string]string{"X-Gitlab-Event": "Pipeline Hook", "webhook-id": id, "webhook-timestamp": ts, "webhook-signature": s}
	}
	code, out = r.post("/v1/webhooks/gitlab", pipeline, std("msg_1", now, "v1,bm9wZQ== "+sig))
	require.Equal(t, http.StatusAccepted, code, "%v", out)
	var ci map[string]any
	require.Eventually(t, func() bool { ci = r.lastEvent("pave.evt.gateway.ci.completed"); return ci != nil }, 10*time.Second, 20*time.Millisecond)
	assert.Equal(t, "gitlab", ci["provider"])
	assert.Equal(t, "bcbb5ec396a2c0f828686f14fac9b80b780504f2", ci["commit"])

	code, out = r.post("/v1/webhooks/gitlab", pipeline, std("msg_1", now, sig))
	assert.Equal(t, http.StatusOK, code)
	assert.Equal(t, true, out["duplicate"], "webhook-id deduplicates")

	old := strconv.FormatInt(time.Now().Add(-10*time.Minute).Unix(), 10)
	code, out = r.post("/v1/webhooks/gitlab", pipeline, std("msg_2", old, SignStandard([]byte("whsec_"+signingKey64), "msg_2", old, pipeline)))
	assert.Equal(t, http.StatusUnauthorized, code)
	assert.Contains(t, out["detail"], "webhook-timestamp")
	code, out = r.post("/v1/webhooks/gitlab", pipeline, std("msg_3", now, sig))
	assert.Equal(t, http.StatusUnauthorized, code, "signed for another id")
	assert.Contains(t, out["detail"], "webhook-signature")
	code, out = r.post("/v1/webhooks/gitlab", pipeline, map[string]string{"X-Gitlab-Event": "Pipeline Hook", "X-Gitlab-Token": gitlabToken})
	assert.Equal(t, http.StatusUnauthorized, code, "a token is not enough once signing is configured")
	assert.Contains(t, out["detail"], "webhook-signature")
}

func TestGenericCIReceiver(t *testing.T) {
	r := newRig(t, nil)
	body := []byte(`{"delivery_id":"build-981","repository":"Codertocat/Hello-World","commit":"6113728f27ae82c7b1a177c8d03f9e96e0adf246",` +
		`"conclusion":"success","name":"jenkins/main","url":"https://ci.example.com/job/981"}`)
	sign := func(b []byte) map[string]string {
		return map[string]string{HeaderCISignature: SignGitHub([]byte(secretNew), b)}
	}
	code, out := r.post("/v1/webhooks/ci", body, sign(body))
	require.Equal(t, http.StatusAccepted, code, "%v", out)
	var ci map[string]any
	require.Eventually(t, func() bool { ci = r.lastEvent("pave.evt.gateway.ci.completed"); return ci != nil }, 10*time.Second, 20*time.Millisecond)
	assert.Equal(t, map[string]any{"provider": "ci", "repository": "Codertocat/Hello-World", "team": "demo", "application": "",
		"commit": "6113728f27ae82c7b1a177c8d03f9e96e0adf246", "conclusion": "success", "name": "jenkins/main",
		"url": "https://ci.example.com/job/981", "delivery_id": "build-981"}, ci)

	noCommit := []byte(strings.Replace(string(body), `"commit":"6113728f27ae82c7b1a177c8d03f9e96e0adf246",`, "", 1))
	code, out = r.post("/v1/webhooks/ci", noCommit, sign(noCommit))
	assert.Equal(t, http.StatusBadRequest, code)
	assert.Equal(t, "commit", out["errors"].([]any)[0].(map[string]any)["field"])
	code, _ = r.post("/v1/webhooks/ci", body, map[string]string{HeaderCISignature: SignGitHub([]byte(secretOld), body)})
	assert.Equal(t, http.StatusUnauthorized, code, "the ci mapping has only the new secret")
	code, out = r.post("/v1/webhooks/ci", body, sign(body))
	assert.Equal(t, http.StatusOK, code)
	assert.Equal(t, true, out["duplicate"])
}

func TestRepositoriesFileIsValidatedAtLoad(t *testing.T) {
	tests := []struct{ give, want string }{
		{"repositories:\n  - provider: github\n    repository: a/b\n    template: t\n    secrets: [{env: HOME}]\n", "repositories[0].team: required"},
		{"repositories:\n  - provider: github\n    repository: a/b\n    team: x\n    secrets: [{env: HOME}]\n", "repositories[0].template: required"},
		{"repositories:\n  - provider: github\n    repository: a/b\n    team: x\n    template: t\n    colour: red\n", "field colour not found"},
		{"repositories:\n  - provider: svn\n    repository: a/b\n    team: x\n    template: t\n    secrets: [{env: HOME}]\n", "repositories[0].provider"},
		{"repositories:\n  - provider: github\n    repository: a/b\n    team: x\n    template: t\n    secrets: [{env: PAVE_SURELY_UNSET_VAR}]\n", "PAVE_SURELY_UNSET_VAR is not set"},
		{"repositories:\n  - provider: github\n    repository: a/b\n    team: x\n    template: t\n", "repositories[0].secrets"},
	}
	for _, tt := range tests {
		file := filepath.Join(t.TempDir(), "repos.yaml")
		require.NoError(t, os.WriteFile(file, []byte(tt.give), 0o600))
		_, err := LoadRepositories(file)
		require.Error(t, err, tt.give)
		assert.Contains(t, err.Error(), file, "names the file")
		assert.Contains(t, err.Error(), tt.want)
	}
}

func TestDemoRepositoriesGenerateTheirSecretFile(t *testing.T) {
	dir := t.TempDir()
	t.Setenv("PAVE_DATA_DIR", dir)
	repos, err := LoadRepositories("../../../../deploy/repositories.yaml")
	require.NoError(t, err)
	secret, err := os.ReadFile(filepath.Join(dir, "webhook-secret"))
	require.NoError(t, err)
	info, err := os.Stat(filepath.Join(dir, "webhook-secret"))
	require.NoError(t, err)
	assert.Equal(t, os.FileMode(0o600), info.Mode().Perm())
	repo, ok := repos.Lookup("github", "codertocat/hello-world")
	require.True(t, ok)
	assert.Equal(t, [][]byte{bytes.TrimSpace(secret)}, repo.secrets)
	again, err := LoadRepositories("../../../../deploy/repositories.yaml")
	require.NoError(t, err)
	r2, _ := again.Lookup("gitlab", "gitlabhq/gitlab-test")
	assert.Equal(t, repo.secrets, r2.secrets, "the secret is generated once")
}
