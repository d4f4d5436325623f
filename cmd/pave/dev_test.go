package main

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/fx"

	"github.com/pave-platform/pave/pkg/httpfx"
	"github.com/pave-platform/pave/pkg/natsfx"
)

// startDev runs `pave dev` in this process on a free port with its data
// in dir, and returns the API's base URL.
func startDev(t *testing.T, dir string) (string, *fx.App) {
	base, app, _ := startDevJS(t, dir)
	return base, app
}

func startDevJS(t *testing.T, dir string) (string, *fx.App, jetstream.JetStream) {
	t.Helper()
	base, app, js, _ := startDevWithTenants(t, dir)
	return base, app, js
}

// startDevWithTenants is startDevJS that also returns the JetStream of
// the embedded server's tenants' account, where environments' streams are.
func startDevWithTenants(t *testing.T, dir string) (string, *fx.App, jetstream.JetStream, jetstream.JetStream) {
	t.Helper()
	t.Setenv("PAVE_DATA_DIR", dir)
	t.Setenv("PAVE_HTTP_ADDR", "127.0.0.1:0")
	if os.Getenv("PAVE_NATS_EMBEDDED_ADDR") == "" {
		t.Setenv("PAVE_NATS_EMBEDDED_ADDR", "off")
	}
	t.Setenv("PAVE_BOOTSTRAP_TOKEN_FILE", filepath.Join(dir, "token"))
	t.Setenv("PAVE_LOG_LEVEL", "warn")
	if os.Getenv("PAVE_TEMPLATES_DIR") == "" {
		t.Setenv("PAVE_TEMPLATES_DIR", "../../deploy/templates")
	}
	if os.Getenv("PAVE_RUNNER_POOL") == "" {
		t.Setenv("PAVE_RUNNER_POOL", "batch")
	}
	if os.Getenv("PAVE_SCHEDULER_CONFIG") == "" {
		t.Setenv("PAVE_SCHEDULER_CONFIG", "../../deploy/scheduler/pools.yaml")
	}
	var srv *httpfx.Server
	var js jetstream.JetStream
	var tenants *natsfx.Tenants
	var out bytes.Buffer
	app := fx.New(devApp(&out), fx.Populate(&srv, &js, &tenants), fx.NopLogger)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	require.NoError(t, app.Start(ctx))
	assert.Contains(t, out.String(), "Authorization: Bearer $(cat "+filepath.Join(dir, "token")+")")
	require.NotNil(t, tenants, "pave dev runs the tenants' account")
	return "http://" + srv.Addr(), app, js, tenants.JetStream
}

// platformEvents counts the events in EVT_PLATFORM.
func platformEvents(t *testing.T, js jetstream.JetStream) uint64 {
	t.Helper()
	st, err := js.Stream(context.Background(), "EVT_PLATFORM")
	require.NoError(t, err)
	info, err := st.Info(context.Background())
	require.NoError(t, err)
	return info.State.Msgs
}

func stopDev(t *testing.T, app *fx.App) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	require.NoError(t, app.Stop(ctx))
}

func get(t *testing.T, url, token string) (int, http.Header, []byte) {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, url, nil)
	require.NoError(t, err)
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	return resp.StatusCode, resp.Header, body
}

func TestDevServesHealthAndAuthenticatedAPI(t *testing.T) {
	dir := t.TempDir()
	base, app := startDev(t, dir)

	code, _, body := get(t, base+"/healthz", "")
	assert.Equal(t, http.StatusOK, code)
	assert.JSONEq(t, `{"status":"ok"}`, string(body))
	code, _, _ = get(t, base+"/readyz", "")
	assert.Equal(t, http.StatusOK, code)
	code, _, body = get(t, base+"/metrics", "")
	assert.Equal(t, http.StatusOK, code)
	assert.Contains(t, string(body), "go_goroutines")

	raw, err := os.ReadFile(filepath.Join(dir, "token"))
	require.NoError(t, err)
	token := strings.TrimSpace(string(raw))
	assert.True(t, strings.HasPrefix(token, "pave_"))
	info, err := os.Stat(filepath.Join(dir, "token"))
	require.NoError(t, err)
	assert.Equal(t, os.FileMode(0o600), info.Mode().Perm(), "the token file is private")

	tests := []struct {
		name, token string
		want        int
	}{
		{"no token", "", http.StatusUnauthorized},
		{"malformed token", "not-a-pave-token", http.StatusUnauthorized},
		{"unknown token", "pave_" + strings.Repeat("a", 52), http.StatusUnauthorized},
		{"bootstrap token", token, http.StatusOK},
	}
	for _, tt := range tests {
		code, h, body := get(t, base+"/v1/events/types", tt.token)
		assert.Equal(t, tt.want, code, tt.name)
		if tt.want == http.StatusUnauthorized {
			assert.Equal(t, "application/problem+json", h.Get("Content-Type"), tt.name)
			assert.Contains(t, string(body), `"status":401`, tt.name)
			assert.Equal(t, `Bearer realm="pave"`, h.Get("WWW-Authenticate"), tt.name)
		}
	}

	code, _, body = get(t, base+"/v1/events/types", token)
	require.Equal(t, http.StatusOK, code)
	var list struct {
		Items []struct {
			Type    string          `json:"type"`
			Subject string          `json:"subject"`
			Schema  json.RawMessage `json:"schema"`
		} `json:"items"`
	}
	require.NoError(t, json.Unmarshal(body, &list))
	var types []string
	for _, it := range list.Items {
		types = append(types, it.Type)
		assert.NotEmpty(t, it.Schema, it.Type)
	}
	assert.Contains(t, types, "dev.pave.platform.service.started.v1")
	assert.Contains(t, types, "dev.pave.platform.message.deadlettered.v1")

	code, h, _ := get(t, base+"/v1/no-such-thing", token)
	assert.Equal(t, http.StatusNotFound, code)
	assert.Equal(t, "application/problem+json", h.Get("Content-Type"))
	code, _, _ = get(t, base+"/v1/no-such-thing", "")
	assert.Equal(t, http.StatusUnauthorized, code, "unknown routes do not leak past authentication")
	stopDev(t, app)
}

func TestDevKeepsDataAndTokenAcrossRestart(t *testing.T) {
	dir := t.TempDir()
	_, app := startDev(t, dir)
	raw, err := os.ReadFile(filepath.Join(dir, "token"))
	require.NoError(t, err)
	stopDev(t, app)

	base, app, js := startDevJS(t, dir)
	defer stopDev(t, app)
	// Six services announced start and stop in the first run, six more
	// starts in this one: the stream kept the first run's events.
	assert.Equal(t, uint64(18), platformEvents(t, js))
	again, err := os.ReadFile(filepath.Join(dir, "token"))
	require.NoError(t, err)
	assert.Equal(t, string(raw), string(again), "the token is not regenerated")
	code, _, _ := get(t, base+"/v1/events/types", strings.TrimSpace(string(raw)))
	assert.Equal(t, http.StatusOK, code)
	_, err = os.Stat(filepath.Join(dir, "jetstream"))
	assert.NoError(t, err, "JetStream stores under the data dir")
}

func readToken(dir string) (string, error) {
	raw, err := os.ReadFile(filepath.Join(dir, "token"))
	return strings.TrimSpace(string(raw)), err
}
