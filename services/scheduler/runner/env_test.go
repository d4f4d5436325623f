package runner_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/cloudevents/sdk-go/v2/event"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"

	"github.com/pave-platform/pave/pkg/bus"
	"github.com/pave-platform/pave/pkg/events"
	"github.com/pave-platform/pave/pkg/schema"
	"github.com/pave-platform/pave/pkg/testkit"
	"github.com/pave-platform/pave/services/scheduler/runner"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

const (
	pool    = "batch"
	waitFor = 10 * time.Second
	tick    = 10 * time.Millisecond
)

// env is an embedded JetStream server with the streams the runner uses
// and a record of every runner report.
type env struct {
	srv     *testkit.NATSServer
	bus     *bus.Bus
	js      jetstream.JetStream
	so      bus.StreamOptions
	reports *reports
}

func newEnv(t *testing.T) *env {
	t.Helper()
	srv := testkit.NATS(t)
	reg, err := schema.Default()
	require.NoError(t, err)
	b, err := bus.New(srv.Conn(t), reg, schema.SubjectFor)
	require.NoError(t, err)
	so := bus.DefaultStreamOptions()
	ctx := context.Background()
	for _, s := range [][]jetstream.StreamConfig{
		bus.CoreStreams(so), bus.ServiceStreams("runner", so), bus.ServiceStreams("scheduler", so),
	} {
		require.NoError(t, bus.EnsureStreams(ctx, b.JetStream(), s...))
	}
	return &env{srv: srv, bus: b, js: b.JetStream(), so: so, reports: collect(t, b.JetStream())}
}

// start starts a runner of the test pool, stopped at cleanup.
func (e *env) start(t *testing.T, cfg runner.Config) *runner.Runner {
	t.Helper()
	cfg.Pool = pool
	if cfg.SpoolDir == "" {
		cfg.SpoolDir = t.TempDir() // nothing left behind in the system's temp dir
	}
	r, err := runner.New(e.bus, e.so, cfg, nil)
	require.NoError(t, err)
	require.NoError(t, r.Start(context.Background()))
	t.Cleanup(func() { stop(t, r) })
	return r
}

func stop(t *testing.T, r *runner.Runner) {
	ctx, cancel := context.WithTimeout(context.Background(), waitFor)
	defer cancel()
	require.NoError(t, r.Stop(ctx))
}

// dispatch sends a run command as the scheduler does; id defaults to the
// scheduler's id for the admission.
func (e *env) dispatch(t *testing.T, cmd events.RunCommand, id ...string) {
	t.Helper()
	eventID := fmt.Sprintf("%s/run/%d", cmd.WorkloadID, cmd.Admission)
	if len(id) > 0 {
		eventID = id[0]
	}
	cmd.Team, cmd.Pool = "team-a", pool
	ev, err := bus.NewEvent(eventID, "pave/scheduler", events.TypeRunCommand, cmd)
	require.NoError(t, err)
	ctx, cancel := context.WithTimeout(context.Background(), waitFor)
	defer cancel()
	require.NoError(t, e.bus.PublishOn(ctx, events.RunnerSubjectRun+pool, ev))
}

// publish sends a scheduler event.
func (e *env) publish(t *testing.T, id, eventType string, data any) {
	t.Helper()
	ev, err := bus.NewEvent(id, "pave/scheduler", eventType, data)
	require.NoError(t, err)
	ctx, cancel := context.WithTimeout(context.Background(), waitFor)
	defer cancel()
	require.NoError(t, e.bus.Publish(ctx, ev))
}

func job(workload string, command string, args ...string) events.RunCommand {
	return events.RunCommand{WorkloadID: workload, Admission: 1, Job: events.JobSpec{Command: command, Args: args}}
}

func shell(workload, script string) events.RunCommand {
	return job(workload, "sh", "-c", script)
}

// reports records the runner's reports in stream order.
type reports struct {
	mu   sync.Mutex
	list []report
}

type report struct {
	seq uint64
	e   event.Event
}

func collect(t *testing.T, js jetstream.JetStream) *reports {
	t.Helper()
	ctx := context.Background()
	cons, err := js.OrderedConsumer(ctx, "EVT_RUNNER", jetstream.OrderedConsumerConfig{})
	require.NoError(t, err)
	rs := &reports{}
	cc, err := cons.Consume(func(m jetstream.Msg) {
		e, err := bus.Decode(m.Headers(), m.Data())
		md, merr := m.Metadata()
		if err != nil || merr != nil {
			return
		}
		rs.mu.Lock()
		rs.list = append(rs.list, report{seq: md.Sequence.Stream, e: e})
		rs.mu.Unlock()
	})
	require.NoError(t, err)
	t.Cleanup(func() { cc.Stop(); <-cc.Closed() })
	return rs
}

// of lists the reports of eventType about workload.
func (rs *reports) of(eventType, workload string) []report {
	rs.mu.Lock()
	defer rs.mu.Unlock()
	var out []report
	for _, r := range rs.list {
		if r.e.Type() == eventType && strings.HasPrefix(r.e.ID(), workload+"/") {
			out = append(out, r)
		}
	}
	return out
}

// await waits for the report of eventType about workload, decodes its
// data into data and returns its stream sequence.
func (rs *reports) await(t *testing.T, eventType, workload string, data any) uint64 {
	t.Helper()
	var got []report
	require.Eventually(t, func() bool {
		got = rs.of(eventType, workload)
		return len(got) > 0
	}, waitFor, tick, "no %s report for %s; reports: %v", eventType, workload, rs.types())
	require.NoError(t, got[0].e.DataAs(data))
	return got[0].seq
}

func (rs *reports) types() []string {
	rs.mu.Lock()
	defer rs.mu.Unlock()
	var out []string
	for _, r := range rs.list {
		out = append(out, r.e.ID())
	}
	return out
}

// pidIn reads a process id a job wrote to a file.
func pidIn(t *testing.T, path string) int {
	t.Helper()
	var raw []byte
	require.Eventually(t, func() bool {
		var err error
		raw, err = os.ReadFile(path)
		return err == nil && strings.HasSuffix(string(raw), "\n")
	}, waitFor, tick, "job never wrote %s", path)
	pid, err := strconv.Atoi(strings.TrimSpace(string(raw)))
	require.NoError(t, err)
	return pid
}

// gone reports whether the process has ended. A zombie counts as ended:
// whether a dead orphan is reaped depends on the system's init.
func gone(pid int) bool {
	if err := syscall.Kill(pid, 0); err == syscall.ESRCH {
		return true
	}
	stat, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return os.IsNotExist(err)
	}
	s := string(stat)
	fields := strings.Fields(s[strings.LastIndexByte(s, ')')+1:])
	return len(fields) > 0 && fields[0] == "Z"
}

func requireGone(t *testing.T, pids ...int) {
	t.Helper()
	for _, pid := range pids {
		require.Eventually(t, func() bool { return gone(pid) }, waitFor, tick, "process %d still runs", pid)
	}
}

// sharedDir is a temporary directory the jobs, which run as an
// unprivileged user, can write to, so a test can see what they did.
func sharedDir(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	require.NoError(t, os.Chmod(filepath.Dir(dir), 0o711))
	require.NoError(t, os.Chmod(dir, 0o777))
	return dir
}
