package httpfx_test

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net"
	"net/http"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"

	"github.com/pave-platform/pave/pkg/httpfx"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

type response struct {
	status int
	body   string
}

// get makes a request on a fresh connection, so no client goroutine
// outlives the test.
func get(t *testing.T, url string) response {
	t.Helper()
	client := &http.Client{Transport: &http.Transport{DisableKeepAlives: true}, Timeout: 10 * time.Second}
	resp, err := client.Get(url)
	require.NoError(t, err)
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	return response{status: resp.StatusCode, body: string(b)}
}

func testConfig() httpfx.Config {
	return httpfx.Config{Addr: "127.0.0.1:0", ShutdownTimeout: 5 * time.Second}
}

// start runs a server on a free port and stops it when the test ends.
func start(t *testing.T, cfg httpfx.Config, routes []httpfx.Route, checks []httpfx.ReadinessCheck) (*httpfx.Server, string) {
	t.Helper()
	metrics := http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		_, _ = io.WriteString(w, "pave_up 1\n")
	})
	s, err := httpfx.NewServer(cfg, routes, checks, metrics, nil)
	require.NoError(t, err)
	require.NoError(t, s.Start(context.Background()))
	t.Cleanup(func() { _ = s.Stop(context.Background()) })
	return s, "http://" + s.Addr()
}

func TestHealthz(t *testing.T) {
	_, base := start(t, testConfig(), nil, nil)

	got := get(t, base+"/healthz")

	assert.Equal(t, http.StatusOK, got.status)
	assert.JSONEq(t, `{"status":"ok"}`, got.body)
}

func TestReadyzFollowsChecks(t *testing.T) {
	var natsDown atomic.Bool
	natsDown.Store(true)
	checks := []httpfx.ReadinessCheck{
		{Name: "redis", Check: func(context.Context) error { return nil }},
		{Name: "nats", Check: func(context.Context) error {
			if natsDown.Load() {
				return errors.New("dial tcp 10.0.0.7:4222: connection refused")
			}
			return nil
		}},
	}
	_, base := start(t, testConfig(), nil, checks)

	down := get(t, base+"/readyz")
	assert.Equal(t, http.StatusServiceUnavailable, down.status)
	assert.JSONEq(t, `{"status":"unavailable","failing":["nats"]}`, down.body)
	assert.Equal(t, http.StatusOK, get(t, base+"/healthz").status, "liveness does not follow readiness")

	natsDown.Store(false)
	up := get(t, base+"/readyz")
	assert.Equal(t, http.StatusOK, up.status)
	assert.JSONEq(t, `{"status":"ok"}`, up.body)
}

// A warning shows in /readyz while the process stays ready.
func TestReadyzShowsWarningsAndStaysReady(t *testing.T) {
	var filling atomic.Bool
	checks := []httpfx.ReadinessCheck{{Name: "streams", Check: func(context.Context) error { return nil },
		Warnings: func(context.Context) []string {
			if filling.Load() {
				return []string{"stream EVT_RUNNER is 85% full"}
			}
			return nil
		}}}
	_, base := start(t, testConfig(), nil, checks)
	assert.JSONEq(t, `{"status":"ok"}`, get(t, base+"/readyz").body)

	filling.Store(true)
	got := get(t, base+"/readyz")
	assert.Equal(t, http.StatusOK, got.status)
	assert.JSONEq(t, `{"status":"ok","warnings":["stream EVT_RUNNER is 85% full"]}`, got.body)
}

func TestReadyzCheckTimesOut(t *testing.T) {
	cfg := testConfig()
	cfg.ReadinessTimeout = 50 * time.Millisecond
	checks := []httpfx.ReadinessCheck{{Name: "slow", Check: func(ctx context.Context) error {
		<-ctx.Done()
		return ctx.Err()
	}}}
	_, base := start(t, cfg, nil, checks)

	got := get(t, base+"/readyz")

	assert.Equal(t, http.StatusServiceUnavailable, got.status)
	assert.JSONEq(t, `{"status":"unavailable","failing":["slow"]}`, got.body)
}

func TestReadyzDrainsWhenStopBegins(t *testing.T) {
	cfg := testConfig()
	cfg.DrainDelay = time.Second
	s, base := start(t, cfg, nil, nil)
	require.Equal(t, http.StatusOK, get(t, base+"/readyz").status)

	stopped := make(chan error, 1)
	go func() { stopped <- s.Stop(context.Background()) }()

	require.Eventually(t, func() bool {
		return get(t, base+"/readyz").status == http.StatusServiceUnavailable
	}, 5*time.Second, 10*time.Millisecond)
	assert.JSONEq(t, `{"status":"draining"}`, get(t, base+"/readyz").body)
	assert.Equal(t, http.StatusOK, get(t, base+"/healthz").status)
	require.NoError(t, <-stopped)

	_, err := net.Dial("tcp", s.Addr())
	assert.Error(t, err, "listener closed after stop")
}

func TestMetricsAndRoutesServed(t *testing.T) {
	routes := []httpfx.Route{{
		Pattern: "GET /v1/events/types",
		Handler: http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
			_ = json.NewEncoder(w).Encode([]string{"dev.pave.lifecycle.environment.ready.v1"})
		}),
	}}
	_, base := start(t, testConfig(), routes, nil)

	metrics := get(t, base+"/metrics")
	assert.Equal(t, http.StatusOK, metrics.status)
	assert.Equal(t, "pave_up 1\n", metrics.body)

	types := get(t, base+"/v1/events/types")
	assert.Equal(t, http.StatusOK, types.status)
	assert.JSONEq(t, `["dev.pave.lifecycle.environment.ready.v1"]`, types.body)

	assert.Equal(t, http.StatusNotFound, get(t, base+"/v1/nope").status)
}

func TestStartFailsWhenAddressTaken(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	defer ln.Close()
	cfg := testConfig()
	cfg.Addr = ln.Addr().String()
	s, err := httpfx.NewServer(cfg, nil, nil, nil, nil)
	require.NoError(t, err)

	err = s.Start(context.Background())

	assert.ErrorContains(t, err, "listen on "+cfg.Addr)
	assert.NoError(t, s.Stop(context.Background()))
}

func TestStopWaitsForRequestsInFlight(t *testing.T) {
	entered, release := make(chan struct{}), make(chan struct{})
	routes := []httpfx.Route{{Pattern: "GET /slow", Handler: http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		close(entered)
		<-release
		_, _ = io.WriteString(w, "done")
	})}}
	s, base := start(t, testConfig(), routes, nil)
	got := make(chan response, 1)
	go func() { got <- get(t, base+"/slow") }()
	<-entered

	stopped := make(chan error, 1)
	go func() { stopped <- s.Stop(context.Background()) }()
	close(release)

	assert.Equal(t, response{status: http.StatusOK, body: "done"}, <-got)
	assert.NoError(t, <-stopped)
}

func TestStopCancelsRequestsAfterShutdownTimeout(t *testing.T) {
	cfg := testConfig()
	cfg.ShutdownTimeout = 100 * time.Millisecond
	entered, returned := make(chan struct{}), make(chan struct{})
	routes := []httpfx.Route{{Pattern: "GET /stream", Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		defer close(returned)
		w.WriteHeader(http.StatusOK)
		w.(http.Flusher).Flush()
		close(entered)
		<-r.Context().Done() // a stream that only ends when the client or server goes
	})}}
	s, base := start(t, cfg, routes, nil)
	client := &http.Client{Transport: &http.Transport{DisableKeepAlives: true}}
	resp, err := client.Get(base + "/stream")
	require.NoError(t, err)
	defer resp.Body.Close()
	<-entered

	err = s.Stop(context.Background())

	assert.ErrorIs(t, err, context.DeadlineExceeded)
	<-returned // the handler saw its context cancelled
	_, _ = io.ReadAll(resp.Body)
}

func TestNewServerRejectsBadRoutesAndChecks(t *testing.T) {
	ok := http.NotFoundHandler()
	tests := []struct {
		name   string
		routes []httpfx.Route
		checks []httpfx.ReadinessCheck
		want   string
	}{
		{name: "conflict with builtin", routes: []httpfx.Route{{Pattern: "GET /healthz", Handler: ok}}, want: `route "GET /healthz"`},
		{name: "bad pattern", routes: []httpfx.Route{{Pattern: "GET", Handler: ok}}, want: `route "GET"`},
		{name: "nil handler", routes: []httpfx.Route{{Pattern: "GET /x"}}, want: `route "GET /x"`},
		{name: "unnamed check", checks: []httpfx.ReadinessCheck{{Check: func(context.Context) error { return nil }}}, want: "readiness check"},
		{name: "duplicate check", checks: []httpfx.ReadinessCheck{
			{Name: "nats", Check: func(context.Context) error { return nil }},
			{Name: "nats", Check: func(context.Context) error { return nil }},
		}, want: `readiness check "nats": registered twice`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := httpfx.NewServer(testConfig(), tt.routes, tt.checks, nil, nil)
			assert.ErrorContains(t, err, tt.want)
		})
	}
}
