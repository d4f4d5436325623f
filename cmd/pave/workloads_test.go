package main

import (
	"bytes"
	"encoding/json"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// crowded may hold one environment and not borrow more.
const crowdedPools = `
pools:
  - name: platform
    capacity: {environments: 10, ops: 4}
  - name: batch
    capacity: {cpu: 4000, memory: 4096}
teams:
  - name: crowded
    nominal: {platform: {environments: 1, ops: 1}, batch: {cpu: 1000, memory: 1024}}
    borrowingLimit: {platform: {environments: 0}}
defaultTeam:
  nominal: {platform: {environments: 2, ops: 1}, batch: {cpu: 1000, memory: 1024}}
`

func startCrowded(t *testing.T) *platform {
	t.Helper()
	file := filepath.Join(t.TempDir(), "pools.yaml")
	require.NoError(t, os.WriteFile(file, []byte(crowdedPools), 0o600))
	return startPlatform(t, "../../deploy/templates", map[string]string{"PAVE_SCHEDULER_CONFIG": file})
}

// TestEnvironmentWaitsForAdmissionOverQuotaAndSaysSo: a team over its
// quota gets its environment queued with the reason, and built once the
// quota frees up.
func TestEnvironmentWaitsForAdmissionOverQuotaAndSaysSo(t *testing.T) {
	p := startCrowded(t)
	first := p.create(map[string]any{"team": "crowded", "name": "one", "template": "redis-cache", "stage": "dev"})
	p.waitState(first, "ready")

	second := p.create(map[string]any{"team": "crowded", "name": "two", "template": "redis-cache", "stage": "dev"})
	var env map[string]any
	require.Eventually(t, func() bool {
		_, env = p.do(http.MethodGet, "/v1/environments/"+second, nil)
		adm, _ := env["admission"].(map[string]any)
		return env["state"] == "queued" && adm != nil && adm["waiting"] != nil
	}, 20*time.Second, 50*time.Millisecond, "never said why it waits: %v", &env)
	adm := env["admission"].(map[string]any)
	// Quotas are enforced: an environment (never preemptible) stays
	// within its team's nominal quota.
	assert.Contains(t, adm["waiting"], "team quota exhausted for environments for work that is not preemptible; only preemptible work borrows")
	assert.Equal(t, "platform", adm["pool"])
	assert.Equal(t, map[string]int{"postgres databases": 0, "postgres roles": 0, "redis users": 1, "nats streams": 0},
		p.realResources(), "nothing is built for the queued one")

	// The scheduler shows the same workload, queued, with its position.
	code, wl := p.do(http.MethodGet, "/v1/workloads/"+second, nil)
	require.Equal(t, http.StatusOK, code, "%v", wl)
	assert.Equal(t, "queued", wl["state"])
	assert.EqualValues(t, 1, wl["position"])

	// Tearing the first down gives its admission back: the second is built.
	code, _ = p.do(http.MethodDelete, "/v1/environments/"+first, nil)
	require.Equal(t, http.StatusAccepted, code)
	p.waitState(first, "deleted")
	p.waitState(second, "ready")
	code, wl = p.do(http.MethodGet, "/v1/workloads/"+first, nil)
	require.Equal(t, http.StatusOK, code)
	assert.Equal(t, "released", wl["state"])
	_, wl = p.do(http.MethodGet, "/v1/workloads/"+second, nil)
	assert.Equal(t, map[string]any{"environments": float64(1), "ops": float64(0)}, wl["demand"],
		"a ready environment keeps its environments unit and gave its ops unit back")
}

// TestCLISubmitsJobsThatReallyRunThroughTheRunner: `pave workloads
// submit --wait` against `pave dev`, whose runner runs the job as an OS
// process.
func TestCLISubmitsJobsThatReallyRunThroughTheRunner(t *testing.T) {
	p := startCrowded(t)
	t.Setenv("PAVE_SERVER", p.base)
	t.Setenv("PAVE_TOKEN", p.token)
	// The job runs as an unprivileged user: it may write here.
	dir := t.TempDir()
	require.NoError(t, os.Chmod(filepath.Dir(dir), 0o711))
	require.NoError(t, os.Chmod(dir, 0o777))
	out := filepath.Join(dir, "ran")

	var stdout bytes.Buffer
	err := runWorkloads([]string{"submit", "--id", "hello", "--team", "crowded", "--cpu", "500", "--memory", "64",
		"--max-runtime", "30s", "--wait", "--", "sh", "-c", "echo ran > " + out + "; echo done"}, &stdout)
	require.NoError(t, err, stdout.String())
	raw, err := os.ReadFile(out)
	require.NoError(t, err, "the job really ran")
	assert.Equal(t, "ran\n", string(raw))
	_, wl := p.do(http.MethodGet, "/v1/workloads/hello", nil)
	assert.Equal(t, "finished", wl["state"])
	assert.EqualValues(t, 0, wl["exit_code"])
	assert.NotEmpty(t, wl["runner"])
	assert.Equal(t, "done\n", wl["output"], "the end of the job's output")
	assert.Nil(t, wl["position"], "a finished job has no queue position")
	final := stdout.String()[strings.Index(stdout.String(), "{"):]
	var printed map[string]any
	require.NoError(t, json.Unmarshal([]byte(final), &printed), final)
	assert.Equal(t, "finished", printed["state"])
	assert.Nil(t, printed["reason"], "the final answer has no reason left over from the wait")

	// A job that fails says so, and the CLI exits non-zero.
	stdout.Reset()
	err = runWorkloads([]string{"submit", "--id", "broken", "--team", "crowded", "--cpu", "500", "--wait",
		"--", "sh", "-c", "exit 3"}, &stdout)
	require.Error(t, err)
	assert.Contains(t, err.Error(), "exited with code 3")

	// A child waits for its parent; the parent's failure cancels it.
	stdout.Reset()
	require.NoError(t, runWorkloads([]string{"submit", "--id", "child", "--team", "crowded", "--cpu", "100",
		"--after", "broken", "--", "true"}, &stdout))
	var v map[string]any
	require.NoError(t, json.Unmarshal(stdout.Bytes(), &v))
	require.Eventually(t, func() bool {
		_, v = p.do(http.MethodGet, "/v1/workloads/child", nil)
		return v["state"] == "cancelled"
	}, 10*time.Second, 50*time.Millisecond, "%v", &v)
	assert.Contains(t, v["reason"], "dependency broken failed: exited with code 3")

	// Bad input is refused naming the field.
	err = runWorkloads([]string{"submit", "--team", "crowded", "--cpu", "999999", "--", "true"}, &stdout)
	require.Error(t, err)
	assert.Contains(t, err.Error(), "422")
	assert.Contains(t, err.Error(), "demand.cpu")

	// The list shows the team's workloads.
	stdout.Reset()
	require.NoError(t, runWorkloads([]string{"list", "--team", "crowded"}, &stdout))
	for _, id := range []string{"hello", "broken", "child"} {
		assert.Contains(t, stdout.String(), id)
	}
}
