package main

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/pave-platform/pave/pkg/localsrv"
	"github.com/pave-platform/pave/pkg/testkit"
)

// platform is `pave dev` in this process, provisioning into real
// PostgreSQL and Redis servers that the test can inspect directly.
type platform struct {
	t     *testing.T
	base  string
	token string
	js    jetstream.JetStream
	// tenants is the tenants' account, where environments' streams are.
	tenants jetstream.JetStream
	pg      string // admin URL of the target PostgreSQL
	dataDir string
	redis   *redis.Client
	// redisServer is the target Redis, for tests that stop and restart it.
	redisServer *localsrv.Redis
}

func startPlatform(t *testing.T, templates string, extraEnv map[string]string) *platform {
	t.Helper()
	pg := testkit.Postgres(t)
	rd := testkit.Redis(t)
	t.Setenv("PAVE_PROVISIONING_POSTGRES_URL", pg.URL())
	t.Setenv("PAVE_PROVISIONING_REDIS_URL", rd.URL())
	t.Setenv("PAVE_LIFECYCLE_RETRY_BACKOFF", "20ms")
	t.Setenv("PAVE_LIFECYCLE_RECONCILE_INTERVAL", "200ms")
	t.Setenv("PAVE_TEMPLATES_DIR", templates)
	t.Setenv("PAVE_SCHEDULER_CONFIG", "../../deploy/scheduler/pools.yaml")
	for k, v := range extraEnv {
		t.Setenv(k, v)
	}
	dir := t.TempDir()
	base, app, js, tenants := startDevWithTenants(t, dir)
	t.Cleanup(func() { stopDev(t, app) })
	raw, err := readToken(dir)
	require.NoError(t, err)
	rdb := redis.NewClient(&redis.Options{Addr: rd.Addr()})
	t.Cleanup(func() { _ = rdb.Close() })
	return &platform{t: t, base: base, token: raw, js: js, tenants: tenants, pg: pg.URL(), dataDir: dir, redis: rdb, redisServer: rd}
}

func (p *platform) do(method, path string, body any) (int, map[string]any) {
	p.t.Helper()
	var rd io.Reader
	if body != nil {
		raw, err := json.Marshal(body)
		require.NoError(p.t, err)
		rd = bytes.NewReader(raw)
	}
	req, err := http.NewRequest(method, p.base+path, rd)
	require.NoError(p.t, err)
	req.Header.Set("Authorization", "Bearer "+p.token)
	resp, err := http.DefaultClient.Do(req)
	require.NoError(p.t, err)
	defer resp.Body.Close()
	var out map[string]any
	raw, _ := io.ReadAll(resp.Body)
	_ = json.Unmarshal(raw, &out)
	return resp.StatusCode, out
}

func (p *platform) create(body map[string]any) string {
	p.t.Helper()
	code, out := p.do(http.MethodPost, "/v1/environments", body)
	require.Equal(p.t, http.StatusAccepted, code, "%v", out)
	return out["environment"].(map[string]any)["id"].(string)
}

// waitState polls the environment until it reaches want.
func (p *platform) waitState(id, want string) map[string]any {
	p.t.Helper()
	var env map[string]any
	require.Eventually(p.t, func() bool {
		_, env = p.do(http.MethodGet, "/v1/environments/"+id, nil)
		return env["state"] == want
	}, 30*time.Second, 50*time.Millisecond, "environment %s never reached %s: %v", id, want, &env)
	return env
}

// realResources counts what carries Pave's prefix on the target servers.
func (p *platform) realResources() map[string]int {
	p.t.Helper()
	return realCounts(p.t, p.pg, p.redis, p.tenants)
}

// realCounts counts the databases, roles, Redis users and streams that
// carry Pave's prefix; js is where the environments' streams are.
func realCounts(t *testing.T, pgURL string, rdb *redis.Client, js jetstream.JetStream) map[string]int {
	t.Helper()
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, pgURL)
	require.NoError(t, err)
	defer conn.Close(ctx)
	out := map[string]int{}
	var n int
	require.NoError(t, conn.QueryRow(ctx, `SELECT count(*) FROM pg_database WHERE datname LIKE 'pave\_%'`).Scan(&n))
	out["postgres databases"] = n
	require.NoError(t, conn.QueryRow(ctx, `SELECT count(*) FROM pg_roles WHERE rolname LIKE 'pave\_%'`).Scan(&n))
	out["postgres roles"] = n
	users, err := rdb.Do(ctx, "ACL", "USERS").StringSlice()
	require.NoError(t, err)
	out["redis users"] = 0
	for _, u := range users {
		if strings.HasPrefix(u, "pave_") {
			out["redis users"]++
		}
	}
	out["nats streams"] = 0
	for name := range js.StreamNames(ctx).Name() {
		if strings.HasPrefix(name, "pave_") {
			out["nats streams"]++
		}
	}
	return out
}

func none() map[string]int {
	return map[string]int{"postgres databases": 0, "postgres roles": 0, "redis users": 0, "nats streams": 0}
}

func TestEnvironmentIsCreatedUsedAndTornDownForReal(t *testing.T) {
	p := startPlatform(t, "../../deploy/templates", nil)
	id := p.create(map[string]any{"team": "payments", "name": "checkout", "template": "web-service", "stage": "dev"})
	env := p.waitState(id, "ready")
	assert.Equal(t, map[string]int{"postgres databases": 1, "postgres roles": 1, "redis users": 1, "nats streams": 1}, p.realResources())
	assert.Equal(t, 0, realCounts(t, p.pg, p.redis, p.js)["nats streams"],
		"the environment's stream lives in the tenants' account, not beside the platform's streams")

	// The database is real: log in with the credentials the API returns
	// when asked for them (the bootstrap admin may have the owner's).
	_, env = p.do(http.MethodGet, "/v1/environments/"+id+"?credentials=true", nil)
	var dbURL string
	for _, r := range env["resources"].([]any) {
		res := r.(map[string]any)
		if res["name"] == "db" {
			creds := res["credentials"].(map[string]any)
			dbURL = creds["url"].(string)
		}
	}
	require.NotEmpty(t, dbURL, "credentials of the database: %v", env)
	conn, err := pgx.Connect(context.Background(), dbURL)
	require.NoError(t, err)
	_, err = conn.Exec(context.Background(), `CREATE TABLE orders (id int primary key)`)
	require.NoError(t, err)
	require.NoError(t, conn.Close(context.Background()))

	code, _ := p.do(http.MethodDelete, "/v1/environments/"+id, nil)
	assert.Equal(t, http.StatusAccepted, code)
	p.waitState(id, "deleted")
	assert.Equal(t, none(), p.realResources(), "teardown leaves nothing")

	code, again := p.do(http.MethodDelete, "/v1/environments/"+id, nil)
	assert.Equal(t, http.StatusAccepted, code, "a second teardown is a no-op")
	assert.Equal(t, "deleted", again["environment"].(map[string]any)["state"])

	// The name is free again once the environment is deleted.
	p.waitState(p.create(map[string]any{"team": "payments", "name": "checkout", "template": "redis-cache", "stage": "dev"}), "ready")
}

func TestFailureHalfwayIsCompensatedAndLeavesNothing(t *testing.T) {
	p := startPlatform(t, "testdata/templates", nil)
	id := p.create(map[string]any{"team": "payments", "name": "broken", "template": "broken", "stage": "dev"})
	env := p.waitState(id, "failed")
	assert.Contains(t, env["reason"], "max_age")
	assert.Equal(t, none(), p.realResources(), "steps 2 and 1 were compensated")
}

// fakeCloudProvisioner stands in for an external provisioner (a cloud API
// we cannot run here) that creates resources but refuses to delete them.
func fakeCloudProvisioner(t *testing.T) *httptest.Server {
	var mu sync.Mutex
	ids := map[string]bool{}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		defer mu.Unlock()
		switch {
		case r.Method == http.MethodPost && r.URL.Path == "/resources":
			ids[r.Header.Get("Idempotency-Key")] = true
			w.WriteHeader(http.StatusCreated)
			_, _ = w.Write([]byte(`{"external_ids":["bucket:1"],"outputs":{"bucket":"b1"}}`))
		case r.Method == http.MethodDelete:
			w.WriteHeader(http.StatusConflict)
			_, _ = w.Write([]byte(`{"error":"bucket is not empty"}`))
		case r.Method == http.MethodGet:
			_, _ = w.Write([]byte(`{"resources":[]}`))
		default:
			w.WriteHeader(http.StatusNotFound)
		}
	}))
	t.Cleanup(srv.Close)
	return srv
}

func TestCompensationThatKeepsFailingEndsInCompensationFailedWithAnAlert(t *testing.T) {
	fake := fakeCloudProvisioner(t)
	p := startPlatform(t, "testdata/templates", map[string]string{"PAVE_PROVISIONING_HTTP_URL": fake.URL})
	id := p.create(map[string]any{"team": "payments", "name": "stubborn", "template": "stubborn", "stage": "dev"})
	env := p.waitState(id, "compensation_failed")
	assert.Contains(t, env["reason"], "bucket", "the environment says what is left")

	st, err := p.js.Stream(context.Background(), "EVT_LIFECYCLE")
	require.NoError(t, err)
	msg, err := st.GetLastMsgForSubject(context.Background(), "pave.evt.lifecycle.saga.alerted")
	require.NoError(t, err, "an alert event was published")
	assert.Contains(t, string(msg.Data), "compensation_failed")
}

func TestBadInputIsRefusedNamingTheFieldAndCreatesNothing(t *testing.T) {
	p := startPlatform(t, "../../deploy/templates", nil)
	p.waitState(p.create(map[string]any{"team": "payments", "name": "taken", "template": "redis-cache", "stage": "dev"}), "ready")
	tests := []struct {
		name  string
		body  any
		code  int
		field string
	}{
		{"unknown template", map[string]any{"team": "payments", "name": "a", "template": "nope", "stage": "dev"}, 422, "template"},
		{"unknown version", map[string]any{"team": "payments", "name": "a", "template": "redis-cache", "version": "9.9.9", "stage": "dev"}, 422, "version"},
		{"parameter fails schema", map[string]any{"team": "payments", "name": "a", "template": "redis-cache", "stage": "dev", "parameters": map[string]any{"size": "huge"}}, 422, "parameters.size"},
		{"stage not allowed", map[string]any{"team": "payments", "name": "a", "template": "preview", "stage": "prod"}, 422, "stage"},
		{"ttl over maximum", map[string]any{"team": "payments", "name": "a", "template": "preview", "stage": "preview", "ttl": "48h"}, 422, "ttl"},
		{"ttl not a duration", map[string]any{"team": "payments", "name": "a", "template": "preview", "stage": "preview", "ttl": "soon"}, 422, "ttl"},
		{"bad name", map[string]any{"team": "payments", "name": "Not A Name", "template": "redis-cache", "stage": "dev"}, 422, "name"},
		{"duplicate name", map[string]any{"team": "payments", "name": "taken", "template": "redis-cache", "stage": "dev"}, 409, "name"},
		{"not JSON", "{", 400, "body"}, // the gateway reads the body to authorize it
	}
	for _, tt := range tests {
		code, out := p.do(http.MethodPost, "/v1/environments", tt.body)
		assert.Equal(t, tt.code, code, "%s: %v", tt.name, out)
		errs, _ := out["errors"].([]any)
		require.NotEmpty(t, errs, "%s: %v", tt.name, out)
		assert.Equal(t, tt.field, errs[0].(map[string]any)["field"], "%s: %v", tt.name, out)
	}
	_, list := p.do(http.MethodGet, "/v1/environments", nil)
	assert.Len(t, list["items"], 1, "nothing was created by bad input")
	assert.Equal(t, map[string]int{"postgres databases": 0, "postgres roles": 0, "redis users": 1, "nats streams": 0}, p.realResources())
}

func TestUpdateMakesANewRevisionThroughTheUpdateSaga(t *testing.T) {
	p := startPlatform(t, "../../deploy/templates", nil)
	id := p.create(map[string]any{"team": "payments", "name": "api", "template": "postgres-db", "stage": "dev"})
	p.waitState(id, "ready")

	code, out := p.do(http.MethodPatch, "/v1/environments/"+id, map[string]any{"parameters": map[string]any{"connection_limit": 5}})
	require.Equal(t, http.StatusAccepted, code, "%v", out)
	env := p.waitState(id, "ready")
	assert.EqualValues(t, 2, env["revision"])
	assert.Len(t, env["revisions"], 2, "the history keeps both revisions")
	assert.EqualValues(t, 5, env["parameters"].(map[string]any)["connection_limit"])

	ctx := context.Background()
	conn, err := pgx.Connect(ctx, p.pg)
	require.NoError(t, err)
	defer conn.Close(ctx)
	var limit int
	require.NoError(t, conn.QueryRow(ctx, `SELECT rolconnlimit FROM pg_roles WHERE rolname LIKE 'pave\_%'`).Scan(&limit))
	assert.Equal(t, 5, limit, "the update reached the real role")

	code, out = p.do(http.MethodPatch, "/v1/environments/"+id, map[string]any{"parameters": map[string]any{"connection_limit": -7}})
	assert.Equal(t, http.StatusUnprocessableEntity, code, "%v", out)
	assert.Equal(t, "parameters.connection_limit", out["errors"].([]any)[0].(map[string]any)["field"])
}
