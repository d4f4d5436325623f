package runner_test

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/pave-platform/pave/pkg/config"
	"github.com/pave-platform/pave/pkg/events"
	"github.com/pave-platform/pave/services/scheduler/runner"
)

// platformDir lays out a data folder the way `pave dev` does (0700, the
// token and the master key 0600, owned by the runner's user) in a folder
// anybody may enter, as a checkout is.
func platformDir(t *testing.T) (dir, token, key string) {
	t.Helper()
	base := sharedDir(t)
	require.NoError(t, os.Chmod(base, 0o755))
	dir = filepath.Join(base, ".pave")
	require.NoError(t, os.Mkdir(dir, 0o700))
	token, key = "pave_admin_0123456789abcdef", "MASTER-KEY-fedcba9876543210fedcba9876543210"
	require.NoError(t, os.WriteFile(filepath.Join(dir, "token"), []byte(token), 0o600))
	require.NoError(t, os.WriteFile(filepath.Join(dir, "provisioning.key"), []byte(key), 0o600))
	return dir, token, key
}

// Issue 16, finding 1: a developer's job read the admin token and the
// master key, as root, from Pave's working directory.
func TestAJobCannotReadThePlatformsSecrets(t *testing.T) {
	dataDir, token, key := platformDir(t)
	t.Setenv("PAVE_BOOTSTRAP_TOKEN", token) // what the runner's process holds
	e := newEnv(t)
	e.start(t, runner.Config{})

	script := "id; pwd; cat .pave/token; head -c 60 .pave/provisioning.key; " +
		"cat " + dataDir + "/token; head -c 60 " + dataDir + "/provisioning.key; ls " + dataDir + "; env"
	e.dispatch(t, shell("attack", script))

	var finished events.JobFinished
	e.reports.await(t, events.TypeJobFinished, "attack", &finished)
	out := finished.Output
	assert.NotContains(t, out, token)
	assert.NotContains(t, out, key[:20])
	assert.Regexp(t, `uid=[1-9][0-9]*\(`, out, "the job runs as an unprivileged user")
	assert.NotContains(t, out, "uid=0(")
	assert.Contains(t, out, "Permission denied", "the data folder is closed to the job")
	assert.Contains(t, out, filepath.Join(os.TempDir(), "pave-runner")+"/attack-1-", "the job runs in its own directory")
}

func TestAJobRunsInAPrivateDirectoryRemovedAfter(t *testing.T) {
	work := filepath.Join(sharedDir(t), "work")
	e := newEnv(t)
	e.start(t, runner.Config{WorkDir: work})

	cmd := shell("private", `pwd; stat -c '%a %u' .; pwd; echo data > mine; ls -d "$HOME" "$TMPDIR"`)
	cmd.Job.Dir = "src/app"
	e.dispatch(t, cmd)

	var finished events.JobFinished
	e.reports.await(t, events.TypeJobFinished, "private", &finished)
	require.Equal(t, 0, finished.ExitCode, "output: %s", finished.Output)
	lines := strings.Split(strings.TrimSpace(finished.Output), "\n")
	require.Len(t, lines, 5, "output: %s", finished.Output)
	wd := lines[0]
	jobDir := strings.TrimSuffix(wd, "/src/app")
	assert.Equal(t, work, filepath.Dir(jobDir), "the job's directory is in the work directory")
	mode, uid, _ := strings.Cut(lines[1], " ")
	assert.Equal(t, "700", mode)
	assert.NotEqual(t, "0", uid, "the directory belongs to the job's user")
	assert.Equal(t, []string{jobDir, jobDir}, lines[3:], "HOME and TMPDIR are the job's directory")
	_, err := os.Stat(jobDir)
	assert.True(t, os.IsNotExist(err), "the job's directory is removed after the job: %v", err)
	entries, err := os.ReadDir(work)
	require.NoError(t, err)
	assert.Empty(t, entries)
	fi, err := os.Stat(work)
	require.NoError(t, err)
	assert.Equal(t, os.FileMode(0o711), fi.Mode().Perm(), "jobs may enter the work directory, not list it")
}

func TestAJobDirectoryMustStayInside(t *testing.T) {
	e := newEnv(t)
	e.start(t, runner.Config{})
	for id, dir := range map[string]string{"up": "../../etc", "absolute": "/etc"} {
		cmd := job(id, "true")
		cmd.Job.Dir = dir
		e.dispatch(t, cmd)
		var finished events.JobFinished
		e.reports.await(t, events.TypeJobFinished, id, &finished)
		assert.Equal(t, -1, finished.ExitCode)
		assert.Contains(t, finished.Error, "must be a relative path inside the job's private directory")
	}
}

func TestAJobGetsOnlyItsDeclaredEnvironment(t *testing.T) {
	t.Setenv("PAVE_NATS_PASSWORD", "runner-secret")
	t.Setenv("AWS_SECRET_ACCESS_KEY", "runner-secret-too")
	e := newEnv(t)
	e.start(t, runner.Config{ID: "env-runner"})

	cmd := job("env", "env")
	cmd.Job.Env = map[string]string{"GREETING": "hello", "PATH": "/usr/bin:/bin"}
	e.dispatch(t, cmd)

	var finished events.JobFinished
	e.reports.await(t, events.TypeJobFinished, "env", &finished)
	require.Equal(t, 0, finished.ExitCode, "output: %s", finished.Output)
	vars := map[string]string{}
	for _, line := range strings.Split(strings.TrimSpace(finished.Output), "\n") {
		k, v, _ := strings.Cut(line, "=")
		vars[k] = v
	}
	names := make([]string, 0, len(vars))
	for k := range vars {
		names = append(names, k)
	}
	slices.Sort(names)
	assert.Equal(t, []string{"GREETING", "HOME", "LOGNAME", "PATH", "PAVE_ADMISSION", "PAVE_POOL",
		"PAVE_RUNNER_ID", "PAVE_WORKLOAD_ID", "TMPDIR", "USER"}, names)
	assert.Equal(t, "hello", vars["GREETING"])
	assert.Equal(t, "/usr/bin:/bin", vars["PATH"], "the job's own variables win")
	assert.Equal(t, "env", vars["PAVE_WORKLOAD_ID"])
	assert.Equal(t, "env-runner", vars["PAVE_RUNNER_ID"])
	assert.NotContains(t, finished.Output, "runner-secret")
}

func TestAJobRunsUnderItsLimits(t *testing.T) {
	e := newEnv(t)
	e.start(t, runner.Config{Limits: runner.Limits{CPU: time.Second, MemoryMiB: 256, Procs: 40, Files: 100}})

	t.Run("limits", func(t *testing.T) {
		e.dispatch(t, job("limits", "cat", "/proc/self/limits"))
		var finished events.JobFinished
		e.reports.await(t, events.TypeJobFinished, "limits", &finished)
		require.Equal(t, 0, finished.ExitCode, "output: %s", finished.Output)
		assert.Regexp(t, `Max cpu time\s+1\s+2\s+seconds`, finished.Output)
		assert.Regexp(t, `Max processes\s+40\s+40\s+processes`, finished.Output)
		assert.Regexp(t, `Max open files\s+100\s+100\s+files`, finished.Output)
		assert.Regexp(t, `Max address space\s+268435456\s+268435456\s+bytes`, finished.Output)
	})
	t.Run("memory hog", func(t *testing.T) {
		e.dispatch(t, job("hog", "perl", "-e", `$x = "a" x (512*1024*1024); print "allocated\n"`))
		var finished events.JobFinished
		e.reports.await(t, events.TypeJobFinished, "hog", &finished)
		assert.NotEqual(t, 0, finished.ExitCode)
		assert.Contains(t, finished.Output, "Out of memory")
		assert.NotContains(t, finished.Output, "allocated")
	})
	t.Run("fork bomb", func(t *testing.T) {
		e.dispatch(t, shell("forks", `i=0; while [ $i -lt 200 ]; do sleep 30 & i=$((i+1)); done; echo all started`))
		var finished events.JobFinished
		e.reports.await(t, events.TypeJobFinished, "forks", &finished)
		assert.NotEqual(t, 0, finished.ExitCode)
		assert.Contains(t, finished.Output, "fork")
		assert.NotContains(t, finished.Output, "all started")
	})
	t.Run("cpu", func(t *testing.T) {
		e.dispatch(t, shell("spin", "while :; do :; done"))
		var finished events.JobFinished
		e.reports.await(t, events.TypeJobFinished, "spin", &finished)
		assert.Equal(t, 128+24, finished.ExitCode, "SIGXCPU ends the job")
	})
}

func TestCancelKillsWhatTheJobStartedInTheBackground(t *testing.T) {
	e := newEnv(t)
	e.start(t, runner.Config{})
	dir := sharedDir(t)

	e.dispatch(t, shell("bg", "sleep 300 & echo $! > "+dir+"/child; echo $$ > "+dir+"/parent; wait"))
	var started events.JobStarted
	e.reports.await(t, events.TypeJobStarted, "bg", &started)
	child, parent := pidIn(t, dir+"/child"), pidIn(t, dir+"/parent")
	e.publish(t, "s/1", events.TypeWorkloadCancelled, events.WorkloadCancelled{
		WorkloadID: "bg", Team: "team-a", Reason: "cancelled by alice", At: time.Now().UTC()})

	var stopped events.JobStopped
	e.reports.await(t, events.TypeJobStopped, "bg", &stopped)
	requireGone(t, parent, child)
}

func TestJobsNeverRunAsRoot(t *testing.T) {
	e := newEnv(t)
	for _, u := range []string{"root", "0"} {
		_, err := runner.New(e.bus, e.so, runner.Config{Pool: pool, User: u}, nil)
		var fe *config.FieldError
		require.ErrorAs(t, err, &fe, "user %s", u)
		assert.Equal(t, "PAVE_RUNNER_USER", fe.Var)
		assert.ErrorContains(t, err, "never run as root")
	}
}
