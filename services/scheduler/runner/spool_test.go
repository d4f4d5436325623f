package runner_test

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/pave-platform/pave/pkg/events"
	"github.com/pave-platform/pave/services/scheduler/runner"
)

// limitRunnerStream sets EVT_RUNNER's message limit (-1: none); with the
// stream's discard-new policy a full stream refuses every publish.
func (e *env) limitRunnerStream(t *testing.T, maxMsgs int64) {
	t.Helper()
	ctx := context.Background()
	s, err := e.js.Stream(ctx, "EVT_RUNNER")
	require.NoError(t, err)
	cfg := s.CachedInfo().Config
	cfg.MaxMsgs = maxMsgs
	_, err = e.js.UpdateStream(ctx, cfg)
	require.NoError(t, err)
}

func lines(t *testing.T, path string) int {
	t.Helper()
	raw, err := os.ReadFile(path)
	if os.IsNotExist(err) {
		return 0
	}
	require.NoError(t, err)
	return strings.Count(string(raw), "\n")
}

// Issue 15: a full EVT_RUNNER refuses the reports of a job that ran. The
// runner keeps them in its spool while it runs and across its restart,
// and publishes them once the stream takes them again; the run command,
// delivered again after the restart, does not run the job a second time.
// One run, one started and one finished report.
func TestReportsOutliveAFullStreamAndARestartAndTheJobRunsOnce(t *testing.T) {
	e := newEnv(t)
	spool := t.TempDir()
	dir := sharedDir(t)
	count := filepath.Join(dir, "runs")

	// The stream is full: it holds what it has and refuses the rest.
	e.publish(t, "filler/1", events.TypeJobStopped, events.JobStopped{WorkloadID: "filler", Admission: 1, Runner: "x", Reason: "fill"})
	require.Eventually(t, func() bool { return len(e.reports.of(events.TypeJobStopped, "filler")) == 1 }, waitFor, tick)
	first := e.start(t, runner.Config{ID: "before", SpoolDir: spool})
	e.limitRunnerStream(t, 1) // after the start, which declares the stream as it should be
	e.dispatch(t, shell("once", "echo ran >> "+count))
	require.Eventually(t, func() bool { return lines(t, count) == 1 }, waitFor, tick, "the job never ran")
	require.Eventually(t, func() bool { return len(first.Running()) == 0 || len(spooled(t, spool)) > 0 }, waitFor, tick)

	// The runner stops before NATS takes the reports: they stay spooled.
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	_ = first.Stop(ctx) // reports it could not publish are not an error of the job
	cancel()
	left := spooled(t, spool)
	require.NotEmpty(t, left, "the unpublished reports are in the spool; reports: %v", e.reports.types())
	assert.Empty(t, e.reports.of(events.TypeJobFinished, "once"), "nothing got through the full stream")

	// The scheduler (after a failover, say) dispatches the job again.
	e.dispatch(t, shell("once", "echo ran >> "+count), "once/run/1/again")

	// The stream has room again; a new runner of the pool starts.
	e.limitRunnerStream(t, -1)
	e.start(t, runner.Config{ID: "after", SpoolDir: spool})
	var started events.JobStarted
	var finished events.JobFinished
	e.reports.await(t, events.TypeJobStarted, "once", &started)
	e.reports.await(t, events.TypeJobFinished, "once", &finished)
	assert.Equal(t, "before", started.Runner, "the report is the first runner's")
	assert.Equal(t, 0, finished.ExitCode)
	require.Eventually(t, func() bool { return len(spooled(t, spool)) == 0 }, waitFor, tick, "the spool empties once published")
	requireDrained(t, e.js)

	assert.Equal(t, 1, lines(t, count), "the job ran once")
	assert.Len(t, e.reports.of(events.TypeJobStarted, "once"), 1, "reported started once")
	assert.Len(t, e.reports.of(events.TypeJobFinished, "once"), 1, "reported finished once")
}

// spooled lists the reports waiting in a runner spool.
func spooled(t *testing.T, root string) []string {
	t.Helper()
	var out []string
	require.NoError(t, filepath.WalkDir(root, func(path string, d os.DirEntry, err error) error {
		if err == nil && !d.IsDir() && filepath.Base(filepath.Dir(path)) == "reports" && strings.HasSuffix(path, ".json") {
			out = append(out, path)
		}
		return err
	}))
	return out
}

// requireDrained waits until the pool's run commands are all handled.
func requireDrained(t *testing.T, js jetstream.JetStream) {
	t.Helper()
	var info *jetstream.ConsumerInfo
	require.Eventually(t, func() bool {
		c, err := js.Consumer(context.Background(), "CMD_RUNNER", "runner-"+pool)
		if err != nil {
			return false
		}
		info, err = c.Info(context.Background())
		return err == nil && info.NumPending == 0 && info.NumAckPending == 0
	}, waitFor, tick, "run commands still pending: %+v", &info)
}
