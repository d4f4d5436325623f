package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/fx"

	"github.com/pave-platform/pave/pkg/natsfx"
	"github.com/pave-platform/pave/pkg/platformfx"
	"github.com/pave-platform/pave/pkg/rpc"
	"github.com/pave-platform/pave/services/scheduler/runner"
)

// remotePools has a pool only the test's own `pave runner` serves.
const remotePools = `
pools:
  - name: platform
    capacity: {environments: 10, ops: 4}
  - name: batch
    capacity: {cpu: 4000, memory: 4096}
  - name: remote
    capacity: {cpu: 4000, memory: 4096}
teams:
  - name: crowded
    nominal: {platform: {environments: 2, ops: 1}, batch: {cpu: 1000, memory: 1024}, remote: {cpu: 1000, memory: 1024}}
defaultTeam:
  nominal: {platform: {environments: 2, ops: 1}, batch: {cpu: 1000, memory: 1024}}
`

// violations collects the permission errors the server sends a client.
type violations struct {
	mu   sync.Mutex
	errs []string
}

func (v *violations) handler(_ *nats.Conn, _ *nats.Subscription, err error) {
	v.mu.Lock()
	defer v.mu.Unlock()
	v.errs = append(v.errs, err.Error())
}

func (v *violations) has(sub string) bool {
	v.mu.Lock()
	defer v.mu.Unlock()
	for _, e := range v.errs {
		if strings.Contains(e, "Permissions Violation") && strings.Contains(e, sub) {
			return true
		}
	}
	return false
}

func (v *violations) String() string {
	v.mu.Lock()
	defer v.mu.Unlock()
	return strings.Join(v.errs, "; ")
}

// TestAttackNATSRunnerUserReachesOnlyItsSubjects: a `pave runner` logs in
// to pave dev's bus as the runner user and runs its pool's jobs, but that
// login cannot forge an audit record, ask provisioning for a password,
// read the access service's buckets or another user's replies; the
// tenants' login reaches nothing of pave.>.
func TestAttackNATSRunnerUserReachesOnlyItsSubjects(t *testing.T) {
	file := filepath.Join(t.TempDir(), "pools.yaml")
	require.NoError(t, os.WriteFile(file, []byte(remotePools), 0o600))
	addr := freeAddr(t)
	p := startPlatform(t, "../../deploy/templates", map[string]string{"PAVE_SCHEDULER_CONFIG": file, "PAVE_NATS_EMBEDDED_ADDR": addr})
	url := "nats://" + addr
	credDir := filepath.Join(p.dataDir, "nats")
	runnerPW := natsfx.PasswordFile(credDir, natsfx.RunnerUser)
	fi, err := os.Stat(runnerPW)
	require.NoError(t, err, "pave dev generates the runner's password")
	assert.Equal(t, os.FileMode(0o600), fi.Mode().Perm())

	// A pave runner as the runner user serves the pool "remote".
	t.Setenv("PAVE_NATS_URL", url)
	t.Setenv("PAVE_NATS_USER", natsfx.RunnerUser)
	t.Setenv("PAVE_NATS_PASSWORD_FILE", runnerPW)
	t.Setenv("PAVE_RUNNER_POOL", "remote")
	t.Setenv("PAVE_RUNNER_ID", "remote-1")
	t.Setenv("PAVE_HTTP_ADDR", "127.0.0.1:0")
	app := fx.New(platformfx.App(runner.Module), fx.NopLogger)
	require.NoError(t, app.Err())
	startCtx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	require.NoError(t, app.Start(startCtx), "the runner starts with only its permissions")
	t.Cleanup(func() { stopDev(t, app) })

	t.Setenv("PAVE_SERVER", p.base)
	t.Setenv("PAVE_TOKEN", p.token)
	var stdout bytes.Buffer
	err = runWorkloads([]string{"submit", "--id", "remote-job", "--team", "crowded", "--pool", "remote",
		"--cpu", "500", "--memory", "64", "--max-runtime", "30s", "--wait", "--", "sh", "-c", "echo remote"}, &stdout)
	require.NoError(t, err, stdout.String())
	_, wl := p.do("GET", "/v1/workloads/remote-job", nil)
	assert.Equal(t, "finished", wl["state"])
	assert.Equal(t, "remote-1", wl["runner"], "the runner of the runner user ran it")
	assert.Equal(t, "remote\n", wl["output"], "its output reached the scheduler")

	// The same login, used by an attacker.
	var v violations
	nc, err := nats.Connect(url, nats.UserInfo(natsfx.RunnerUser, readFile(t, runnerPW)),
		nats.CustomInboxPrefix(natsfx.InboxPrefix(natsfx.RunnerUser)), nats.ErrorHandler(v.handler))
	require.NoError(t, err)
	defer nc.Close()
	js, err := jetstream.New(nc)
	require.NoError(t, err)
	ctx := context.Background()
	auditBefore := streamMsgs(t, p.js, "AUDIT")

	short, cancelShort := context.WithTimeout(ctx, 2*time.Second)
	_, err = js.Publish(short, "pave.audit.decision", []byte(`{"forged":true}`))
	cancelShort()
	assert.Error(t, err, "a runner cannot publish an audit record")
	_, err = nc.Request(rpc.ResourceCredentials, []byte(`{"environment_id":"x","resource_id":"db"}`), 2*time.Second)
	assert.Error(t, err, "a runner gets no answer from the credentials endpoint")
	for _, subject := range []string{"pave.access.api.tokens.create", "pave.access.audit.append", "pave.access.authenticate"} {
		_, err = nc.Request(subject, []byte(`{}`), time.Second)
		assert.Error(t, err, "a runner gets no answer from %s", subject)
	}
	short, cancelShort = context.WithTimeout(ctx, 2*time.Second)
	kv, err := js.KeyValue(short, "ACCESS_TOKENS")
	if err == nil {
		_, err = kv.Get(short, "anything")
		if err == nil || err == jetstream.ErrKeyNotFound {
			_, err = kv.ListKeys(short)
		}
	}
	cancelShort()
	assert.Error(t, err, "a runner cannot read the access service's tokens")
	_, err = nc.Subscribe("_INBOX.>", func(*nats.Msg) {})
	require.NoError(t, err)
	_, err = nc.Subscribe("pave.>", func(*nats.Msg) {})
	require.NoError(t, err)
	require.NoError(t, nc.Flush())
	require.Eventually(t, func() bool {
		return v.has(`Publish to "pave.audit.decision"`) && v.has(`Publish to "`+rpc.ResourceCredentials+`"`) &&
			v.has(`Publish to "pave.access.api.tokens.create"`) && v.has(`Publish to "pave.access.audit.append"`) &&
			v.has(`KV_ACCESS_TOKENS`) && v.has(`Subscription to "_INBOX.>"`) && v.has(`Subscription to "pave.>"`)
	}, 20*time.Second, 50*time.Millisecond, "the server did not refuse each attempt: %s", &v)
	assert.Equal(t, auditBefore, streamMsgs(t, p.js, "AUDIT"), "no record was added to the ledger")

	// The tenants' login lives in another account: pave.> is not there.
	tc, err := nats.Connect(url, nats.UserInfo(natsfx.TenantUser, readFile(t, natsfx.PasswordFile(credDir, natsfx.TenantUser))))
	require.NoError(t, err)
	defer tc.Close()
	_, err = tc.Request(rpc.ResourceCredentials, []byte(`{}`), 2*time.Second)
	assert.ErrorIs(t, err, nats.ErrNoResponders, "no platform service answers in the tenants' account")
	require.NoError(t, tc.Publish("pave.audit.decision", []byte(`{"forged":true}`)))
	require.NoError(t, tc.Flush())
	assert.Equal(t, auditBefore, streamMsgs(t, p.js, "AUDIT"))
}

func readFile(t *testing.T, path string) string {
	t.Helper()
	raw, err := os.ReadFile(path)
	require.NoError(t, err)
	return strings.TrimSpace(string(raw))
}

func streamMsgs(t *testing.T, js jetstream.JetStream, name string) uint64 {
	t.Helper()
	st, err := js.Stream(context.Background(), name)
	require.NoError(t, err)
	info, err := st.Info(context.Background())
	require.NoError(t, err)
	return info.State.Msgs
}
