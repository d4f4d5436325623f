package runner_test

import (
	"context"
	"encoding/json"
	"errors"
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

func TestJobReportsStartThenExitCodeAndOutput(t *testing.T) {
	e := newEnv(t)
	e.start(t, runner.Config{ID: "r1"})

	e.dispatch(t, shell("hello", "echo hello; echo oops >&2; exit 3"))

	var started events.JobStarted
	var finished events.JobFinished
	startSeq := e.reports.await(t, events.TypeJobStarted, "hello", &started)
	finishSeq := e.reports.await(t, events.TypeJobFinished, "hello", &finished)
	assert.Less(t, startSeq, finishSeq, "started is reported before finished")
	assert.Equal(t, "r1", started.Runner)
	assert.Equal(t, pool, started.Pool)
	assert.Positive(t, started.PID)
	assert.Equal(t, 3, finished.ExitCode)
	assert.Empty(t, finished.Error)
	assert.Contains(t, finished.Output, "hello\n")
	assert.Contains(t, finished.Output, "oops\n")
	assert.Equal(t, 1, finished.Admission)
	assert.False(t, finished.StartedAt.IsZero())
	assert.False(t, finished.At.Before(finished.StartedAt))
}

// The report carries the last events.MaxLoggedOutput bytes; the runner
// keeps the last OutputMaxBytes in the JOB_OUTPUT object store (issue 15:
// 64 KiB of output per report filled EVT_RUNNER).
func TestOutputKeepsOnlyTheTail(t *testing.T) {
	e := newEnv(t)
	e.start(t, runner.Config{OutputMaxBytes: 64 << 10})

	e.dispatch(t, shell("chatty", "i=0; while [ $i -lt 20000 ]; do echo \"line $i of a long log\"; i=$((i+1)); done; echo the-last-line"))

	var finished events.JobFinished
	e.reports.await(t, events.TypeJobFinished, "chatty", &finished)
	assert.Equal(t, 0, finished.ExitCode)
	assert.Len(t, finished.Output, events.MaxLoggedOutput)
	assert.True(t, strings.HasSuffix(finished.Output, "line 19999 of a long log\nthe-last-line\n"), "output ends with the last lines")

	obs, err := e.js.ObjectStore(context.Background(), "JOB_OUTPUT")
	require.NoError(t, err)
	stored, err := obs.GetString(context.Background(), "chatty/1")
	require.NoError(t, err)
	assert.Len(t, stored, 64<<10)
	assert.True(t, strings.HasSuffix(stored, "line 19999 of a long log\nthe-last-line\n"))
	assert.NotContains(t, stored, "line 0 of")
}

func TestTimeoutKillsTheProcessGroup(t *testing.T) {
	e := newEnv(t)
	r := e.start(t, runner.Config{})
	dir := sharedDir(t)

	cmd := shell("slow", "echo $$ > "+dir+"/parent; sleep 300 & echo $! > "+dir+"/child; echo waiting; wait")
	cmd.MaxRuntimeMS = 1000
	e.dispatch(t, cmd)

	var timedOut events.JobTimedOut
	e.reports.await(t, events.TypeJobTimedOut, "slow", &timedOut)
	assert.Contains(t, timedOut.Output, "waiting")
	assert.GreaterOrEqual(t, timedOut.DurationMS, int64(1000))
	requireGone(t, pidIn(t, dir+"/parent"), pidIn(t, dir+"/child"))
	assert.Empty(t, e.reports.of(events.TypeJobFinished, "slow"))
	require.Eventually(t, func() bool { return len(r.Running()) == 0 }, waitFor, tick)
}

func TestPreemptionStopsTheRunningAdmission(t *testing.T) {
	e := newEnv(t)
	e.start(t, runner.Config{})
	dir := sharedDir(t)

	e.dispatch(t, shell("victim", "echo $$ > "+dir+"/pid; exec sleep 300"))
	var started events.JobStarted
	e.reports.await(t, events.TypeJobStarted, "victim", &started)
	pid := pidIn(t, dir+"/pid") // the shell runs (the job starts through the runner's shim)

	now := time.Now().UTC()
	// An older admission's preemption must not stop this one.
	e.publish(t, "s/1", events.TypeWorkloadPreempted, events.WorkloadPreempted{
		WorkloadID: "victim", Team: "team-a", Admission: 7, By: "other", Reason: "not this admission", At: now})
	e.publish(t, "s/2", events.TypeWorkloadPreempted, events.WorkloadPreempted{
		WorkloadID: "victim", Team: "team-a", Admission: 1, By: "urgent", Reason: "make room", At: now})

	var stopped events.JobStopped
	e.reports.await(t, events.TypeJobStopped, "victim", &stopped)
	assert.Equal(t, "preempted by urgent: make room", stopped.Reason)
	requireGone(t, started.PID, pid)
	assert.Empty(t, e.reports.of(events.TypeJobFinished, "victim"))
}

func TestCancelStopsEveryAdmissionOfTheWorkload(t *testing.T) {
	e := newEnv(t)
	e.start(t, runner.Config{})

	e.dispatch(t, job("doomed", "sleep", "300"))
	var started events.JobStarted
	e.reports.await(t, events.TypeJobStarted, "doomed", &started)
	e.publish(t, "s/1", events.TypeWorkloadCancelled, events.WorkloadCancelled{
		WorkloadID: "doomed", Team: "team-a", Reason: "cancelled by alice", At: time.Now().UTC()})

	var stopped events.JobStopped
	e.reports.await(t, events.TypeJobStopped, "doomed", &stopped)
	assert.Equal(t, "cancelled: cancelled by alice", stopped.Reason)
	requireGone(t, started.PID)
}

func TestCommandThatCannotStart(t *testing.T) {
	tests := []struct {
		name      string
		give      events.JobSpec
		wantError string
	}{
		{name: "missing", give: events.JobSpec{Command: "pave-no-such-command"}, wantError: "executable file not found"},
		{name: "missing-path", give: events.JobSpec{Command: "/no/such/command"}, wantError: "no such file"},
		{name: "bad-dir", give: events.JobSpec{Command: "true", Dir: "/no/such/dir"}, wantError: "/no/such/dir"},
	}
	e := newEnv(t)
	e.start(t, runner.Config{})
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e.dispatch(t, events.RunCommand{WorkloadID: tt.name, Admission: 1, Job: tt.give})

			var finished events.JobFinished
			e.reports.await(t, events.TypeJobFinished, tt.name, &finished)
			assert.Equal(t, -1, finished.ExitCode)
			assert.Contains(t, finished.Error, tt.wantError)
			assert.Empty(t, e.reports.of(events.TypeJobStarted, tt.name), "a job that did not start is not reported started")
		})
	}
}

func TestHeartbeatListsJobsAndIsDeletedOnStop(t *testing.T) {
	e := newEnv(t)
	cfg := runner.Config{Pool: pool, ID: "hb-runner", Heartbeat: 50 * time.Millisecond}
	r, err := runner.New(e.bus, e.so, cfg, nil)
	require.NoError(t, err)
	require.NoError(t, r.Start(context.Background()))
	kv, err := e.js.KeyValue(context.Background(), runner.RunnersBucket)
	require.NoError(t, err)

	e.dispatch(t, job("beating", "sleep", "300"))
	var started events.JobStarted
	e.reports.await(t, events.TypeJobStarted, "beating", &started)
	want := events.RunnerJobRef{WorkloadID: "beating", Admission: 1}
	require.Eventually(t, func() bool {
		hb, ok := heartbeat(kv, "hb-runner")
		return ok && hb.Pool == pool && len(hb.Jobs) == 1 && hb.Jobs[0] == want
	}, waitFor, tick, "heartbeat never listed the job")
	assert.Equal(t, []events.RunnerJobRef{want}, r.Running())

	stop(t, r)

	_, err = kv.Get(context.Background(), "hb-runner")
	assert.ErrorIs(t, err, jetstream.ErrKeyNotFound)
	var stopped events.JobStopped
	e.reports.await(t, events.TypeJobStopped, "beating", &stopped)
	assert.Equal(t, "runner stopping", stopped.Reason)
	requireGone(t, started.PID)
	assert.Empty(t, r.Running())
}

func heartbeat(kv jetstream.KeyValue, id string) (events.RunnerHeartbeat, bool) {
	var hb events.RunnerHeartbeat
	entry, err := kv.Get(context.Background(), id)
	if err != nil || json.Unmarshal(entry.Value(), &hb) != nil {
		return hb, false
	}
	return hb, true
}

func TestSlotsHoldBackTheNextJob(t *testing.T) {
	e := newEnv(t)
	e.start(t, runner.Config{Slots: 1})
	dir := sharedDir(t)

	e.dispatch(t, shell("first", "sleep 1; touch "+dir+"/first-done"))
	// Exits 0 only if it starts after the first job ended.
	e.dispatch(t, shell("second", "test -e "+dir+"/first-done"))

	var first, second events.JobFinished
	firstEnd := e.reports.await(t, events.TypeJobFinished, "first", &first)
	e.reports.await(t, events.TypeJobFinished, "second", &second)
	var started events.JobStarted
	secondStart := e.reports.await(t, events.TypeJobStarted, "second", &started)
	assert.Equal(t, 0, first.ExitCode)
	assert.Equal(t, 0, second.ExitCode, "the second job started before the first ended")
	assert.Greater(t, secondStart, firstEnd, "the second start is reported after the first end")
}

func TestRepeatedRunCommandStartsOneProcess(t *testing.T) {
	e := newEnv(t)
	r := e.start(t, runner.Config{})
	dir := sharedDir(t)

	cmd := shell("once", "echo run >> "+dir+"/runs; while [ ! -e "+dir+"/release ]; do sleep 0.02; done")
	e.dispatch(t, cmd)
	var started events.JobStarted
	e.reports.await(t, events.TypeJobStarted, "once", &started)
	e.dispatch(t, cmd, "once/run/1/again")
	requireCommandsTaken(t, e.js)
	assert.Len(t, r.Running(), 1)

	require.NoError(t, os.WriteFile(filepath.Join(dir, "release"), nil, 0o600))
	var finished events.JobFinished
	e.reports.await(t, events.TypeJobFinished, "once", &finished)
	runs, err := os.ReadFile(filepath.Join(dir, "runs"))
	require.NoError(t, err)
	assert.Equal(t, "run\n", string(runs))
	assert.Len(t, e.reports.of(events.TypeJobStarted, "once"), 1)

	// A repeat after the end is ignored too.
	e.dispatch(t, cmd, "once/run/1/late")
	requireCommandsTaken(t, e.js)
	runs, err = os.ReadFile(filepath.Join(dir, "runs"))
	require.NoError(t, err)
	assert.Equal(t, "run\n", string(runs))
}

// requireCommandsTaken waits until every run command has been acked: the
// work-queue stream deletes a command on its ack.
func requireCommandsTaken(t *testing.T, js jetstream.JetStream) {
	t.Helper()
	require.Eventually(t, func() bool {
		s, err := js.Stream(context.Background(), "CMD_RUNNER")
		if err != nil {
			return false
		}
		info, err := s.Info(context.Background())
		return err == nil && info.State.Msgs == 0
	}, waitFor, tick, "run commands were not acked")
}

func TestReportsArePublishedAfterANATSOutage(t *testing.T) {
	e := newEnv(t)
	e.start(t, runner.Config{})
	dir := sharedDir(t)

	e.dispatch(t, shell("outage", "while [ ! -e "+dir+"/release ]; do sleep 0.02; done; echo bye"))
	var started events.JobStarted
	e.reports.await(t, events.TypeJobStarted, "outage", &started)

	e.srv.Shutdown()
	require.NoError(t, os.WriteFile(filepath.Join(dir, "release"), nil, 0o600))
	requireGone(t, started.PID) // the job ended while NATS was down
	e.srv.Restart(t)

	var finished events.JobFinished
	e.reports.await(t, events.TypeJobFinished, "outage", &finished)
	assert.Equal(t, 0, finished.ExitCode)
	assert.Equal(t, "bye\n", finished.Output)
}

func TestStartTwiceFails(t *testing.T) {
	e := newEnv(t)
	r := e.start(t, runner.Config{})
	assert.True(t, errors.Is(r.Start(context.Background()), runner.ErrStarted))
}
