package webhooks

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/stretchr/testify/require"

	"github.com/pave-platform/pave/pkg/bus"
	"github.com/pave-platform/pave/pkg/dedup"
	"github.com/pave-platform/pave/pkg/rpc"
	"github.com/pave-platform/pave/pkg/schema"
	"github.com/pave-platform/pave/pkg/testkit"
)

const (
	secretOld    = "old-secret-still-accepted"
	secretNew    = "new-secret-after-rotation"
	gitlabToken  = "gitlab-token-1"
	signingKey64 = "MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw" // base64 of the demo Standard Webhooks key
)

var reposYAML = `repositories:
  - provider: github
    repository: Codertocat/Hello-World
    team: demo
    application: hello-world
    template: preview
    parameters: {branch: "${branch}", pull_request: "${pull_request}", size: small}
    preview_ttl: 2h
    secrets: [{env: WH_SECRET_OLD}, {env: WH_SECRET_NEW}]
  - provider: ci
    repository: Codertocat/Hello-World
    team: demo
    template: preview
    secrets: [{env: WH_SECRET_NEW}]
  - provider: gitlab
    repository: gitlabhq/gitlab-test
    team: demo
    application: gitlab-test
    template: preview
    secrets: [{env: WH_GITLAB_TOKEN}]
  - provider: gitlab
    repository: gitlab-org/gitlab-test
    team: demo
    template: preview
    secrets: [{env: WH_GITLAB_TOKEN}]
    signing_secrets: [{env: WH_GITLAB_SIGNING}]
`

// rig is a receiver and a processor on an embedded JetStream server, with
// a lifecycle stand-in answering the environment calls over NATS.
type rig struct {
	t       testing.TB
	handler http.Handler
	url     string
	js      jetstream.JetStream
	bus     *bus.Bus
	proc    *Processor
	repos   *Repositories
	seen    dedup.Store
	life    *lifecycleStandIn
}

func newRig(t testing.TB, pub func(*bus.Bus) Publisher) *rig {
	t.Helper()
	t.Setenv("WH_SECRET_OLD", secretOld)
	t.Setenv("WH_SECRET_NEW", secretNew)
	t.Setenv("WH_GITLAB_TOKEN", gitlabToken)
	t.Setenv("WH_GITLAB_SIGNING", "whsec_"+signingKey64)
	file := filepath.Join(t.TempDir(), "repositories.yaml")
	require.NoError(t, os.WriteFile(file, []byte(reposYAML), 0o600))
	repos, err := LoadRepositories(file)
	require.NoError(t, err)

	srv := testkit.NATS(t)
	nc := srv.Conn(t)
	reg, err := schema.Default()
	require.NoError(t, err)
	b, err := bus.New(nc, reg, schema.SubjectFor)
	require.NoError(t, err)
	ctx := context.Background()
	so := bus.DefaultStreamOptions()
	require.NoError(t, bus.EnsureStreams(ctx, b.JetStream(), append(bus.CoreStreams(so), bus.ServiceStreams("gateway", so)...)...))
	seen, err := dedup.NewKV(ctx, b.JetStream(), "TEST_DELIVERIES", 7*24*time.Hour, 1)
	require.NoError(t, err)

	log := slog.New(slog.DiscardHandler)
	var p Publisher = b
	if pub != nil {
		p = pub(b)
	}
	rc := NewReceiver(repos, seen, p, log, nil)
	hs := httptest.NewServer(rc.Handler())
	t.Cleanup(hs.Close)

	life := startLifecycleStandIn(t, nc)
	proc := NewProcessor(repos, rpcCaller{nc}, b, log)
	sub, err := b.Subscribe(ctx, ConsumerSpec(), proc.Handle)
	require.NoError(t, err)
	t.Cleanup(func() { _ = sub.Stop(context.Background()) })
	return &rig{t: t, handler: rc.Handler(), repos: repos, seen: seen, url: hs.URL, js: b.JetStream(), bus: b, proc: proc, life: life}
}

type rpcCaller struct{ nc *nats.Conn }

func (c rpcCaller) Call(ctx context.Context, subject string, req rpc.Request) (rpc.Reply, error) {
	return rpc.Call(ctx, c.nc, subject, req)
}

func fixture(t testing.TB, name string) []byte {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join("testdata", name))
	require.NoError(t, err)
	return raw
}

// post sends body to path with headers and returns the status and the
// decoded JSON answer.
func (r *rig) post(path string, body []byte, headers map[string]string) (int, map[string]any) {
	r.t.Helper()
	req, err := http.NewRequest(http.MethodPost, r.url+path, bytes.NewReader(body))
	require.NoError(r.t, err)
	req.Header.Set("Content-Type", "application/json")
	for k, v := range headers {
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	require.NoError(r.t, err)
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	var out map[string]any
	_ = json.Unmarshal(raw, &out)
	return resp.StatusCode, out
}

var deliveries int

// github sends a GitHub delivery signed with secret.
func (r *rig) github(event string, body []byte, secret, delivery string) (int, map[string]any) {
	r.t.Helper()
	return r.post("/v1/webhooks/github", body, map[string]string{
		"X-GitHub-Event": event, "X-GitHub-Delivery": delivery,
		"X-Hub-Signature-256": SignGitHub([]byte(secret), body)})
}

func newDelivery() string {
	deliveries++
	return fmt.Sprintf("72d3162e-cc78-11e3-81ab-%012d", deliveries)
}

// lifecycleStandIn answers the environment calls the processor makes,
// keeping environments in memory and counting the calls.
type lifecycleStandIn struct {
	mu    sync.Mutex
	envs  map[string]map[string]any // id -> environment
	calls map[string]int
	n     int
}

func startLifecycleStandIn(t testing.TB, nc *nats.Conn) *lifecycleStandIn {
	l := &lifecycleStandIn{envs: map[string]map[string]any{}, calls: map[string]int{}}
	srv, err := rpc.Serve(nc, "lifecycle-standin", "0.0.1", slog.New(slog.DiscardHandler),
		rpc.Endpoint{Name: "create", Subject: rpc.EnvironmentsCreate, Handler: l.create},
		rpc.Endpoint{Name: "list", Subject: rpc.EnvironmentsList, Handler: l.list},
		rpc.Endpoint{Name: "update", Subject: rpc.EnvironmentsUpdate, Handler: l.update},
		rpc.Endpoint{Name: "delete", Subject: rpc.EnvironmentsDelete, Handler: l.remove})
	require.NoError(t, err)
	t.Cleanup(func() { _ = srv.Stop() })
	return l
}

func (l *lifecycleStandIn) create(_ context.Context, req rpc.Request) rpc.Reply {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.calls["create"]++
	var body map[string]any
	_ = json.Unmarshal(req.Body, &body)
	if !req.Principal.InTeam(body["team"].(string)) {
		return rpc.NotFound("team", body["team"].(string))
	}
	for _, e := range l.envs {
		if e["name"] == body["name"] && e["state"] != "deleted" {
			return rpc.Fail(http.StatusConflict, "Conflict", "name taken")
		}
	}
	l.n++
	body["id"] = fmt.Sprintf("env-%d", l.n)
	body["state"] = "requested"
	body["created_by"] = req.Principal.ID
	l.envs[body["id"].(string)] = body
	return rpc.OK(http.StatusAccepted, map[string]any{"environment": body})
}

func (l *lifecycleStandIn) list(_ context.Context, req rpc.Request) rpc.Reply {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.calls["list"]++
	items := []map[string]any{}
	for _, e := range l.envs {
		if e["team"] == req.Query["team"] {
			items = append(items, e)
		}
	}
	return rpc.OK(http.StatusOK, map[string]any{"items": items})
}

func (l *lifecycleStandIn) update(_ context.Context, req rpc.Request) rpc.Reply {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.calls["update"]++
	var body map[string]any
	_ = json.Unmarshal(req.Body, &body)
	e := l.envs[req.Path["id"]]
	e["commit"] = body["commit"]
	e["parameters"] = body["parameters"]
	return rpc.OK(http.StatusAccepted, map[string]any{"environment": e})
}

func (l *lifecycleStandIn) remove(_ context.Context, req rpc.Request) rpc.Reply {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.calls["delete"]++
	e := l.envs[req.Path["id"]]
	e["state"] = "deleted"
	return rpc.OK(http.StatusAccepted, map[string]any{"environment": e})
}

func (l *lifecycleStandIn) count(call string) int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.calls[call]
}

// byName returns the live environment called name.
func (l *lifecycleStandIn) byName(name string) map[string]any {
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, e := range l.envs {
		if e["name"] == name && e["state"] != "deleted" {
			return e
		}
	}
	return nil
}

// lastEvent is the data of the last event on subject, or nil.
func (r *rig) lastEvent(subject string) map[string]any {
	msg, err := r.js.Stream(context.Background(), "EVT_GATEWAY")
	require.NoError(r.t, err)
	m, err := msg.GetLastMsgForSubject(context.Background(), subject)
	if err != nil {
		return nil
	}
	var out map[string]any
	require.NoError(r.t, json.Unmarshal(m.Data, &out))
	return out
}
