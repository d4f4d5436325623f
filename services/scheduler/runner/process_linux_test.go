package runner

import (
	"bufio"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/pave-platform/pave/pkg/events"
)

// A runner killed with SIGKILL takes its jobs with it. The runner here is
// this test binary run again as a child: it starts `sleep 600` the way a
// runner starts a job, prints the job's pid and waits to be killed.
func TestAJobDiesWithItsRunner(t *testing.T) {
	if os.Getenv("PAVE_RUNNER_TEST_CHILD") == "1" {
		sb, err := newSandbox(Config{WorkDir: filepath.Join(os.TempDir(), "pave-runner-test")}.withDefaults(), slog.New(slog.DiscardHandler))
		if err != nil {
			fmt.Println("error", err)
			os.Exit(1)
		}
		cmd := events.RunCommand{WorkloadID: "orphan", Admission: 1, Job: events.JobSpec{Command: "sleep", Args: []string{"600"}}}
		p, err := startProcess(cmd, "test", sb)
		if err != nil {
			fmt.Println("error", err)
			os.Exit(1)
		}
		fmt.Println("pid", p.cmd.Process.Pid)
		time.Sleep(time.Minute)
		os.Exit(1)
	}
	child := exec.Command(os.Args[0], "-test.run=^TestAJobDiesWithItsRunner$")
	child.Env = append(os.Environ(), "PAVE_RUNNER_TEST_CHILD=1")
	out, err := child.StdoutPipe()
	require.NoError(t, err)
	require.NoError(t, child.Start())
	line, err := bufio.NewReader(out).ReadString('\n')
	require.NoError(t, err)
	pid, err := strconv.Atoi(strings.TrimSpace(strings.TrimPrefix(line, "pid ")))
	require.NoError(t, err, "child said %q", line)
	require.True(t, alive(pid), "the job runs while its runner does")

	require.NoError(t, child.Process.Kill())
	_ = child.Wait()
	require.Eventually(t, func() bool { return !alive(pid) }, 10*time.Second, 10*time.Millisecond,
		"job %d outlived its killed runner", pid)
}

// alive: pid exists and is not a zombie waiting for a reaper.
func alive(pid int) bool {
	if err := syscall.Kill(pid, 0); errors.Is(err, syscall.ESRCH) {
		return false
	}
	stat, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return false
	}
	// pid (comm) S ...: the state follows the last ')'.
	s := string(stat)
	i := strings.LastIndexByte(s, ')')
	return i < 0 || i+2 >= len(s) || s[i+2] != 'Z'
}

// A user that resolves to uid 0 is refused, whatever its name, and a
// sandbox never makes a directory for a root job.
func TestTheSandboxRefusesRoot(t *testing.T) {
	sb := &sandbox{}
	err := sb.resolveUser("root", slog.New(slog.DiscardHandler))
	require.ErrorIs(t, err, ErrRootJob)
	require.ErrorContains(t, err, "PAVE_RUNNER_USER")
	_, _, err = (&sandbox{uid: 0}).jobDir("w", 1, "")
	require.ErrorIs(t, err, ErrRootJob)
}
