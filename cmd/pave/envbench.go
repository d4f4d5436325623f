package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"runtime/pprof"
	"sync"
	"sync/atomic"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"go.uber.org/fx"

	"github.com/pave-platform/pave/pkg/authn"
	"github.com/pave-platform/pave/pkg/bus"
	"github.com/pave-platform/pave/pkg/events"
	"github.com/pave-platform/pave/pkg/localsrv"
	"github.com/pave-platform/pave/pkg/rpc"
)

// runEnvBench measures environment sagas with the redis driver against a
// real redis-server, all of Pave in this process on an embedded
// sync-always JetStream server, and prints RESULT lines.
func runEnvBench(args []string) error {
	fs := flag.NewFlagSet("pave bench-environments", flag.ContinueOnError)
	sagas := fs.Int("sagas", 300, "create-then-teardown sagas in the throughput run")
	workers := fs.Int("workers", 32, "concurrent sagas in the throughput run")
	steady := fs.Duration("steady", 10*time.Second, "length of the 10/s latency run")
	templates := fs.String("templates", "deploy/templates", "template folder")
	if err := fs.Parse(args); err != nil {
		return err
	}
	dir, err := os.MkdirTemp("", "pave-envbench-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	rd, err := localsrv.StartRedis(context.Background(), localsrv.RedisConfig{Dir: filepath.Join(dir, "redis")})
	if err != nil {
		return err
	}
	defer rd.Stop()
	// The benchmark measures the sagas, admission included, not a quota:
	// the pool admits every environment at once.
	pools := filepath.Join(dir, "pools.yaml")
	if err := os.WriteFile(pools, []byte(benchPools), 0o600); err != nil {
		return err
	}
	for k, v := range map[string]string{
		"PAVE_SCHEDULER_CONFIG": pools, "PAVE_RUNNER_POOL": "batch",
		"PAVE_DATA_DIR": dir, "PAVE_HTTP_ADDR": "127.0.0.1:0", "PAVE_NATS_EMBEDDED_ADDR": "off",
		"PAVE_LOG_LEVEL": envOr("PAVE_LOG_LEVEL", "error"), "PAVE_TEMPLATES_DIR": *templates, "PAVE_PROVISIONING_REDIS_URL": rd.URL(),
		"PAVE_LIFECYCLE_RECONCILE_INTERVAL": "1m",
	} {
		if err := os.Setenv(k, v); err != nil {
			return err
		}
	}
	var nc *nats.Conn
	var js jetstream.JetStream
	app := fx.New(devApp(io.Discard), fx.Populate(&nc, &js), fx.NopLogger)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if err := app.Start(ctx); err != nil {
		return err
	}
	defer app.Stop(context.Background())
	if path := os.Getenv("PAVE_BENCH_CPUPROFILE"); path != "" {
		f, err := os.Create(path)
		if err != nil {
			return err
		}
		defer f.Close()
		if err := pprof.StartCPUProfile(f); err != nil {
			return err
		}
		defer pprof.StopCPUProfile()
	}
	b := &envBench{nc: nc, js: js}
	if err := b.watch(); err != nil {
		return err
	}
	return b.run(*sagas, *workers, *steady)
}

type envBench struct {
	nc *nats.Conn
	js jetstream.JetStream
	mu sync.Mutex
	// waiters get the environment's next matching state.
	waiters map[string]chan string
	seq     atomic.Int64
}

var benchAdmin = authn.Principal{ID: "bench", Kind: "user", Roles: []string{authn.RolePlatformAdmin}}

// watch follows transition events, to learn when an environment is
// ready or deleted without polling.
func (b *envBench) watch() error {
	b.waiters = map[string]chan string{}
	_, err := b.nc.Subscribe("pave.evt.lifecycle.environment.transitioned", func(m *nats.Msg) {
		e, err := bus.Decode(m.Header, m.Data)
		if err != nil {
			return
		}
		var t events.EnvironmentTransitioned
		if json.Unmarshal(e.Data(), &t) != nil {
			return
		}
		b.mu.Lock()
		ch := b.waiters[t.EnvironmentID+"/"+t.To]
		b.mu.Unlock()
		if ch != nil {
			select {
			case ch <- t.To:
			default:
			}
		}
	})
	return err
}

func (b *envBench) expect(id, state string) chan string {
	ch := make(chan string, 1)
	b.mu.Lock()
	b.waiters[id+"/"+state] = ch
	b.mu.Unlock()
	return ch
}

func (b *envBench) call(subject string, path map[string]string, body any) (rpc.Reply, error) {
	req := rpc.Request{Principal: benchAdmin, Path: path}
	if body != nil {
		req.Body, _ = json.Marshal(body)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	return rpc.Call(ctx, b.nc, subject, req)
}

// create starts a redis-cache environment and waits until it is ready; it
// returns the id and the time from request to ready.
func (b *envBench) create() (string, time.Duration, error) {
	start := time.Now()
	id, err := b.createIn("bench", fmt.Sprintf("bench-%06d", b.seq.Add(1)), "redis-cache")
	return id, time.Since(start), err
}

// createIn starts an environment of team from template and waits until it
// is ready; it returns the id.
func (b *envBench) createIn(team, name, template string) (string, error) {
	rep, err := b.call(rpc.EnvironmentsCreate, nil, map[string]any{"team": team, "name": name, "template": template, "stage": "dev"})
	if err != nil || rep.Status != http.StatusAccepted {
		return "", fmt.Errorf("create %s: %v %+v", name, err, rep.Problem)
	}
	var out struct {
		Environment struct{ ID, State string } `json:"environment"`
	}
	if err := json.Unmarshal(rep.Body, &out); err != nil {
		return "", err
	}
	// The event may come before we listen: ask once more after listening.
	ready := b.expect(out.Environment.ID, "ready")
	if err := b.await(out.Environment.ID, "ready", ready); err != nil {
		return "", err
	}
	return out.Environment.ID, nil
}

func (b *envBench) teardown(id string) error {
	deleted := b.expect(id, "deleted")
	rep, err := b.call(rpc.EnvironmentsDelete, map[string]string{"id": id}, nil)
	if err != nil || rep.Status != http.StatusAccepted {
		return fmt.Errorf("delete %s: %v %+v", id, err, rep.Problem)
	}
	return b.await(id, "deleted", deleted)
}

func (b *envBench) await(id, state string, ch chan string) error {
	deadline := time.After(60 * time.Second)
	last := ""
	for {
		select {
		case <-ch:
			return nil
		case <-time.After(time.Second):
			rep, err := b.call(rpc.EnvironmentsGet, map[string]string{"id": id}, nil)
			var e struct{ State, Reason string }
			if err == nil && json.Unmarshal(rep.Body, &e) == nil {
				last = e.State + " " + e.Reason
				if e.State == state {
					return nil
				}
				if e.State == "failed" || e.State == "compensation_failed" {
					return fmt.Errorf("environment %s %s: %s", id, e.State, e.Reason)
				}
			}
		case <-deadline:
			return fmt.Errorf("environment %s not %s after 60s (last seen: %s)", id, state, last)
		}
	}
}

const benchPools = `
pools:
  - name: platform
    capacity: {environments: 1000000, ops: 100000}
  - name: batch
    capacity: {cpu: 1000}
defaultTeam:
  nominal: {platform: {environments: 1000000, ops: 100000}}
`
