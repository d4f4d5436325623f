package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"net/http"
	"os/exec"
	"path/filepath"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/pave-platform/pave/pkg/authn"
	"github.com/pave-platform/pave/pkg/rpc"
	"github.com/pave-platform/pave/pkg/testkit"
)

// proc is a service binary that the test kills and starts again.
type proc struct {
	t    *testing.T
	bin  string
	env  []string
	mu   sync.Mutex
	cmd  *exec.Cmd
	logs *bytes.Buffer
}

func (p *proc) start() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.cmd = exec.Command(p.bin)
	p.cmd.Env = append(p.cmd.Environ(), p.env...)
	p.cmd.Env = append(p.cmd.Env, "PAVE_HTTP_ADDR="+freeAddr(p.t))
	p.logs = &bytes.Buffer{}
	p.cmd.Stdout, p.cmd.Stderr = p.logs, p.logs
	require.NoError(p.t, p.cmd.Start())
}

// kill ends the process with SIGKILL: no drain, no goodbye.
func (p *proc) kill() {
	p.mu.Lock()
	defer p.mu.Unlock()
	_ = p.cmd.Process.Signal(syscall.SIGKILL)
	_ = p.cmd.Wait()
}

// Lifecycle, provisioning and the scheduler run as separate processes against one NATS
// server. During 50 concurrent creates and then 50 teardowns, either the
// services are killed with SIGKILL at random moments and started again, or
// the JetStream server itself is restarted again and again. Every
// environment must reach a terminal state, with zero duplicated and zero
// orphaned resources, counted on the real PostgreSQL, Redis and NATS.
func TestCrashesDuringCreatesAndTeardownsLeaveNoOrphans(t *testing.T) {
	if testing.Short() {
		t.Skip("long: kills and restarts processes during 100 operations")
	}
	for _, mode := range []chaosMode{killServices, restartJetStream} {
		t.Run(string(mode), func(t *testing.T) { crashDuringOperations(t, mode) })
	}
}

type chaosMode string

const (
	killServices     chaosMode = "kill services"
	restartJetStream chaosMode = "restart JetStream"
)

func crashDuringOperations(t *testing.T, mode chaosMode) {
	srv := testkit.NATS(t)
	pg, rd := testkit.Postgres(t), testkit.Redis(t)
	bin := buildServices(t, "lifecycle", "provisioning", "scheduler")
	env := []string{
		"PAVE_NATS_URL=" + srv.URL(), "PAVE_LOG_LEVEL=warn",
		"PAVE_TEMPLATES_DIR=../../deploy/templates",
		"PAVE_SCHEDULER_CONFIG=../../deploy/scheduler/pools.yaml",
		"PAVE_RUNNER_POOL=batch",
		"PAVE_PROVISIONING_POSTGRES_URL=" + pg.URL(), "PAVE_PROVISIONING_REDIS_URL=" + rd.URL(),
		"PAVE_PROVISIONING_KEY=" + "MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY=",
		"PAVE_LIFECYCLE_RETRY_BACKOFF=50ms", "PAVE_LIFECYCLE_STEP_TIMEOUT=3s",
		// A dead handler's command comes back, and its claim lapses, within
		// the saga's retries.
		"PAVE_PROVISIONING_ACK_WAIT=4s", "PAVE_PROVISIONING_HTTP_TIMEOUT=3s", "PAVE_PROVISIONING_EXEC_TIMEOUT=3s",
		"PAVE_LIFECYCLE_RECONCILE_INTERVAL=250ms",
	}
	procs := map[string]*proc{}
	for _, name := range []string{"lifecycle", "provisioning", "scheduler"} {
		p := &proc{t: t, bin: filepath.Join(bin, name), env: append(env, "PAVE_DATA_DIR="+t.TempDir())}
		p.start()
		t.Cleanup(p.kill)
		procs[name] = p
	}
	nc := srv.Conn(t)
	js, err := jetstream.New(nc)
	require.NoError(t, err)
	rdb := redis.NewClient(&redis.Options{Addr: rd.Addr()})
	t.Cleanup(func() { _ = rdb.Close() })
	api := chaosAPI{t: t, nc: nc}

	stopChaos := chaos(t, procs, srv, mode)
	ids := api.createMany(50)
	states := api.waitAll(ids, "ready", "failed")
	stopChaos()
	ready := 0
	for _, st := range states {
		if st == "ready" {
			ready++
		}
	}
	t.Logf("%s: creates: %d ready, %d failed", mode, ready, len(ids)-ready)
	real := realCounts(t, pg.URL(), rdb, js)
	assert.Equal(t, map[string]int{"postgres databases": ready, "postgres roles": ready, "redis users": ready, "nats streams": ready},
		real, "one of each resource per ready environment: no duplicates, no orphans")

	stopChaos = chaos(t, procs, srv, mode)
	for _, id := range ids {
		api.call(rpc.EnvironmentsDelete, map[string]string{"id": id}, nil)
	}
	api.waitAll(ids, "deleted", "failed")
	stopChaos()
	assert.Equal(t, none(), realCounts(t, pg.URL(), rdb, js), "teardown left nothing")
}

// chaos, every so often, kills a random service and starts it again, or
// restarts the JetStream server. The returned func stops it and leaves
// everything running.
func chaos(t *testing.T, procs map[string]*proc, srv *testkit.NATSServer, mode chaosMode) func() {
	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Go(func() {
		names := []string{"lifecycle", "provisioning", "scheduler"}
		for restarts := 0; ; {
			pause := time.Duration(300+rand.IntN(700)) * time.Millisecond
			if mode == restartJetStream {
				pause = time.Duration(1500+rand.IntN(1500)) * time.Millisecond
			}
			select {
			case <-done:
				return
			case <-time.After(pause):
			}
			if mode == restartJetStream {
				// A few restarts per phase: a server that is down more
				// than up is an outage, not a restart.
				if restarts < 3 {
					srv.Restart(t)
					restarts++
					t.Log("chaos: restarted the JetStream server")
				}
				continue
			}
			p := procs[names[rand.IntN(len(names))]]
			p.kill()
			p.start()
			t.Logf("chaos: killed and restarted %s", filepath.Base(p.bin))
		}
	})
	return func() { close(done); wg.Wait() }
}

type chaosAPI struct {
	t  *testing.T
	nc *nats.Conn
}

var admin = authn.Principal{ID: "chaos-test", Kind: "user", Roles: []string{authn.RolePlatformAdmin}}

// call retries until the service answers (it may be down for a moment).
func (a chaosAPI) call(subject string, path map[string]string, body any) rpc.Reply {
	a.t.Helper()
	raw, _ := json.Marshal(body)
	req := rpc.Request{Principal: admin, Path: path, Body: raw}
	if body == nil {
		req.Body = nil
	}
	var rep rpc.Reply
	require.Eventually(a.t, func() bool {
		ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
		defer cancel()
		var err error
		rep, err = rpc.Call(ctx, a.nc, subject, req)
		return err == nil && rep.Status < 500
	}, 60*time.Second, 100*time.Millisecond, "%s never answered", subject)
	return rep
}

// createMany creates n environments concurrently and returns their ids. A
// create that was stored but whose answer was lost comes back as 409 on
// the retry; its id is then found by name.
func (a chaosAPI) createMany(n int) []string {
	ids := make([]string, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			name := fmt.Sprintf("chaos-%02d", i)
			rep := a.call(rpc.EnvironmentsCreate, nil, map[string]any{
				"team": "chaos", "name": name, "template": "web-service", "stage": "dev"})
			if rep.Status == http.StatusConflict {
				ids[i] = a.idByName(name)
				return
			}
			require.Equal(a.t, http.StatusAccepted, rep.Status, "%+v", rep.Problem)
			var out struct {
				Environment struct{ ID string } `json:"environment"`
			}
			require.NoError(a.t, json.Unmarshal(rep.Body, &out))
			ids[i] = out.Environment.ID
		})
	}
	wg.Wait()
	return ids
}

func (a chaosAPI) idByName(name string) string {
	var list struct {
		Items []struct{ ID, Name string } `json:"items"`
	}
	require.NoError(a.t, json.Unmarshal(a.call(rpc.EnvironmentsList, nil, nil).Body, &list))
	for _, it := range list.Items {
		if it.Name == name {
			return it.ID
		}
	}
	a.t.Fatalf("no environment named %s", name)
	return ""
}

// waitAll waits until every environment is in one of the terminal states
// and returns each one's state.
func (a chaosAPI) waitAll(ids []string, terminal ...string) map[string]string {
	states, reasons := map[string]string{}, map[string]string{}
	defer func() {
		for id, st := range states {
			if st == "failed" || st == "compensation_failed" {
				a.t.Logf("%s %s: %s", id, st, reasons[id])
			}
		}
	}()
	require.Eventually(a.t, func() bool {
		for _, id := range ids {
			var e struct{ State, Reason string }
			_ = json.Unmarshal(a.call(rpc.EnvironmentsGet, map[string]string{"id": id}, nil).Body, &e)
			states[id] = e.State
			reasons[id] = e.Reason
		}
		for _, st := range states {
			if !contains(terminal, st) {
				return false
			}
		}
		return true
	}, 3*time.Minute, 500*time.Millisecond, "not all terminal: %v", states)
	return states
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}
