package portal_test

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

	"github.com/stretchr/testify/require"
	"go.uber.org/fx"

	"github.com/pave-platform/pave/pkg/httpfx"
	"github.com/pave-platform/pave/pkg/platformfx"
	"github.com/pave-platform/pave/pkg/testkit"
	"github.com/pave-platform/pave/services/access"
	"github.com/pave-platform/pave/services/cost"
	"github.com/pave-platform/pave/services/gateway"
	"github.com/pave-platform/pave/services/lifecycle"
	"github.com/pave-platform/pave/services/provisioning"
	"github.com/pave-platform/pave/services/scheduler"
	"github.com/pave-platform/pave/services/scheduler/runner"
)

// repo is the repository root, seen from this package.
const repo = "../../../.."

// platform is every service in this process, as `pave dev` runs them,
// provisioning into real PostgreSQL and Redis servers; the portal is the
// gateway's, at base.
type platform struct {
	t     testing.TB
	base  string
	admin string // the bootstrap platform admin's token
}

func startPlatform(t testing.TB) *platform {
	t.Helper()
	pg := testkit.Postgres(t)
	rd := testkit.Redis(t)
	dir := t.TempDir()
	for k, v := range map[string]string{
		"PAVE_DATA_DIR":                     dir,
		"PAVE_HTTP_ADDR":                    "127.0.0.1:0",
		"PAVE_NATS_EMBEDDED_ADDR":           "off",
		"PAVE_BOOTSTRAP_TOKEN_FILE":         filepath.Join(dir, "token"),
		"PAVE_LOG_LEVEL":                    "warn",
		"PAVE_TEMPLATES_DIR":                repo + "/deploy/templates",
		"PAVE_RUNNER_POOL":                  "batch",
		"PAVE_SCHEDULER_CONFIG":             repo + "/deploy/scheduler/pools.yaml",
		"PAVE_COST_RATECARDS":               repo + "/deploy/cost/ratecards.yaml",
		"PAVE_PROVISIONING_POSTGRES_URL":    pg.URL(),
		"PAVE_PROVISIONING_REDIS_URL":       rd.URL(),
		"PAVE_LIFECYCLE_RETRY_BACKOFF":      "20ms",
		"PAVE_LIFECYCLE_RECONCILE_INTERVAL": "200ms",
	} {
		t.Setenv(k, v)
	}
	var srv *httpfx.Server
	app := fx.New(platformfx.App(access.Module, gateway.Module, lifecycle.Module, provisioning.Module,
		cost.Module, scheduler.Module, runner.Module), fx.Populate(&srv), fx.NopLogger)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	require.NoError(t, app.Start(ctx))
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		require.NoError(t, app.Stop(ctx))
	})
	raw, err := os.ReadFile(filepath.Join(dir, "token"))
	require.NoError(t, err)
	return &platform{t: t, base: "http://" + srv.Addr(), admin: strings.TrimSpace(string(raw))}
}

// api calls /v1 as the holder of token and wants the status.
func (p *platform) api(token string, want int, method, path string, body any) map[string]any {
	p.t.Helper()
	var rd io.Reader = http.NoBody
	if body != nil {
		raw, err := json.Marshal(body)
		require.NoError(p.t, err)
		rd = bytes.NewReader(raw)
	}
	req, err := http.NewRequest(method, p.base+path, rd)
	require.NoError(p.t, err)
	req.Header.Set("Authorization", "Bearer "+token)
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	require.NoError(p.t, err)
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	require.Equal(p.t, want, resp.StatusCode, "%s %s: %s", method, path, raw)
	var out map[string]any
	_ = json.Unmarshal(raw, &out)
	return out
}

// member puts user in team with role and answers a token of theirs.
func (p *platform) member(team, user, role string) string {
	p.t.Helper()
	p.api(p.admin, http.StatusOK, http.MethodPut, "/v1/teams/"+team+"/members/"+user, map[string]any{"role": role})
	out := p.api(p.admin, http.StatusCreated, http.MethodPost, "/v1/tokens", map[string]any{"user": user, "expires_in": "2h"})
	return out["token"].(string)
}

func (p *platform) team(name string) {
	p.t.Helper()
	p.api(p.admin, http.StatusCreated, http.MethodPost, "/v1/teams", map[string]any{"name": name})
}

// waitReady waits until each named environment of the caller is ready.
func (p *platform) waitReady(token string, names ...string) {
	p.t.Helper()
	for _, name := range names {
		var last string
		require.Eventually(p.t, func() bool {
			l := p.api(token, http.StatusOK, http.MethodGet, "/v1/environments?limit=200", nil)
			for _, it := range l["items"].([]any) {
				e := it.(map[string]any)
				if e["name"] == name {
					last, _ = e["state"].(string)
				}
			}
			return last == "ready"
		}, 3*time.Minute, 500*time.Millisecond, "environment %s is not ready (state %q)", name, last)
	}
}

// waitPromotion waits until the newest promotion of app into stage has
// settled in one of the states wanted (polling twice a second: the API
// limits a user's requests).
func (p *platform) waitPromotion(token, app, stage, want string) {
	p.t.Helper()
	var last string
	require.Eventually(p.t, func() bool {
		l := p.api(token, http.StatusOK, http.MethodGet, "/v1/promotions?application="+app, nil)
		for _, it := range l["items"].([]any) { // newest first
			pr := it.(map[string]any)
			if pr["to_stage"] == stage {
				last, _ = pr["state"].(string)
				break
			}
		}
		return last == want
	}, 3*time.Minute, 500*time.Millisecond, "the promotion of %s into %s is %q, not %s", app, stage, last, want)
}

// envID answers the id of the caller's environment called name.
func (p *platform) envID(token, name string) string {
	p.t.Helper()
	l := p.api(token, http.StatusOK, http.MethodGet, "/v1/environments?limit=200", nil)
	for _, it := range l["items"].([]any) {
		if e := it.(map[string]any); e["name"] == name {
			return e["id"].(string)
		}
	}
	p.t.Fatalf("no environment %s", name)
	return ""
}

// waitState waits until the environment is in state.
func (p *platform) waitState(token, id, state string) {
	p.t.Helper()
	var last string
	require.Eventually(p.t, func() bool {
		e := p.api(token, http.StatusOK, http.MethodGet, "/v1/environments/"+id, nil)
		last, _ = e["state"].(string)
		return last == state
	}, 3*time.Minute, 500*time.Millisecond, "environment %s is %q, not %s", id, last, state)
}

// fillEnvironmentPool lowers the environment pool's capacity to what its
// environments hold now, so that the next environment waits for admission
// (with quotas enforced, a capacity or quota below one environment's
// demand would refuse it instead of queueing it). openEnvironmentPool
// gives the room back.
func (p *platform) fillEnvironmentPool() {
	p.t.Helper()
	pool := p.api(p.admin, http.StatusOK, http.MethodGet, "/v1/pools/platform", nil)
	used, _ := pool["used"].(map[string]any)["environments"].(float64)
	require.GreaterOrEqual(p.t, used, 1.0, "an environment must hold the pool's capacity first: %v", pool)
	p.api(p.admin, http.StatusOK, http.MethodPut, "/v1/pools/platform",
		map[string]any{"capacity": map[string]any{"environments": int(used), "ops": 8}})
}

func (p *platform) openEnvironmentPool() {
	p.t.Helper()
	p.api(p.admin, http.StatusOK, http.MethodPut, "/v1/pools/platform",
		map[string]any{"capacity": map[string]any{"environments": 200, "ops": 8}})
}

// hasCredentials reports whether the API hands token a login of the
// environment's resources (GET ?credentials=true).
func (p *platform) hasCredentials(token, id string) bool {
	req, err := http.NewRequest(http.MethodGet, p.base+"/v1/environments/"+id+"?credentials=true", http.NoBody)
	require.NoError(p.t, err)
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := http.DefaultClient.Do(req)
	require.NoError(p.t, err)
	defer resp.Body.Close()
	var env struct {
		Resources []struct {
			Credentials map[string]any `json:"credentials"`
		} `json:"resources"`
	}
	if resp.StatusCode != http.StatusOK || json.NewDecoder(resp.Body).Decode(&env) != nil {
		return false
	}
	for _, r := range env.Resources {
		if len(r.Credentials) > 0 {
			return true
		}
	}
	return false
}
