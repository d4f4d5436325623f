package runner

import (
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/pave-platform/pave/pkg/events"
)

const (
	// killGrace is how long a job has between SIGTERM and SIGKILL.
	killGrace = 2 * time.Second
	// outputGrace bounds the wait for the output pipe to close after the
	// process group is gone: a process that left the group (setsid) may
	// hold it open forever.
	outputGrace = 2 * time.Second
	// defaultPath is PATH for jobs when the runner itself has none.
	defaultPath = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
)

// jobEnv is a base environment made for the job, the job's identity,
// then the job's own variables, which win. Nothing of the runner's
// environment (NATS credentials, PAVE_* settings, tokens) reaches a job.
func jobEnv(cmd events.RunCommand, runnerID string, sb *sandbox, home string) []string {
	vars := map[string]string{"PATH": defaultPath, "HOME": home, "TMPDIR": home}
	if sb.user != "" {
		vars["USER"], vars["LOGNAME"] = sb.user, sb.user
	}
	vars["PAVE_WORKLOAD_ID"] = cmd.WorkloadID
	vars["PAVE_ADMISSION"] = strconv.Itoa(cmd.Admission)
	vars["PAVE_POOL"] = cmd.Pool
	vars["PAVE_RUNNER_ID"] = runnerID
	for k, v := range cmd.Job.Env {
		vars[k] = v
	}
	env := make([]string, 0, len(vars))
	for k, v := range vars {
		env = append(env, k+"="+v)
	}
	return env
}

// process is a started job: the leader of its own process group, its
// stdout and stderr going into one pipe that is read into a tail.
type process struct {
	cmd     *exec.Cmd
	out     *tail
	pipe    *os.File
	copied  chan struct{}
	started time.Time
	dir     string // the job's private directory, removed at the end
}

// exit is how a process ended.
type exit struct {
	code  int
	ended time.Time
	// stopped: stop came before the process ended by itself.
	stopped bool
}

// startProcess starts the job's command as the sandbox's user, under its
// limits, in a private directory made for it. The command is looked up in
// the job's PATH, not the runner's.
func startProcess(cmd events.RunCommand, runnerID string, sb *sandbox) (*process, error) {
	dir, wd, err := sb.jobDir(cmd.WorkloadID, cmd.Admission, cmd.Job.Dir)
	if err != nil {
		return nil, err
	}
	p, err := spawn(cmd.Job, jobEnv(cmd, runnerID, sb, dir), wd, sb)
	if err != nil {
		_ = os.RemoveAll(dir)
		return nil, err
	}
	p.dir = dir
	return p, nil
}

func spawn(spec events.JobSpec, env []string, wd string, sb *sandbox) (*process, error) {
	path, err := lookPath(spec.Command, envValue(env, "PATH"), wd)
	if err != nil {
		return nil, err
	}
	bin, argv, exe, err := wrap(path, append([]string{spec.Command}, spec.Args...), sb.limits)
	if err != nil {
		return nil, err
	}
	r, w, err := os.Pipe()
	if err != nil {
		return nil, fmt.Errorf("output pipe: %w", err)
	}
	c := &exec.Cmd{
		Path: bin, Args: argv, Env: env, Dir: wd,
		Stdout: w, Stderr: w, SysProcAttr: sysProcAttr(sb.cred),
	}
	if exe != nil {
		c.ExtraFiles = []*os.File{exe}
		defer exe.Close()
	}
	err = c.Start()
	_ = w.Close() // the child has its copy
	if err != nil {
		_ = r.Close()
		return nil, err
	}
	p := &process{cmd: c, out: newTail(sb.output), pipe: r, copied: make(chan struct{}), started: time.Now()}
	go func() {
		defer close(p.copied)
		_, _ = io.Copy(p.out, r)
	}()
	return p, nil
}

// wait returns when the process has ended: by itself, at the deadline
// (timedOut) or when stop closes. Either way the whole process group is
// gone and the output read when it returns.
func (p *process) wait(deadline <-chan time.Time, stop <-chan struct{}) (e exit, timedOut bool) {
	waited := make(chan error, 1)
	go func() { waited <- p.cmd.Wait() }()
	select {
	case <-waited:
	case <-deadline:
		timedOut = true
		p.terminate(waited)
	case <-stop:
		e.stopped = true
		p.terminate(waited)
	}
	e.ended = time.Now()
	p.signal(syscall.SIGKILL) // what the job left behind in its group
	p.readOutput()
	e.code = exitCode(p.cmd.ProcessState)
	if p.dir != "" {
		_ = os.RemoveAll(p.dir)
	}
	return e, timedOut
}

// terminate asks the group to stop, and kills it after killGrace.
func (p *process) terminate(waited <-chan error) {
	p.signal(syscall.SIGTERM)
	t := time.NewTimer(killGrace)
	defer t.Stop()
	select {
	case <-waited:
		return
	case <-t.C:
	}
	p.signal(syscall.SIGKILL)
	<-waited
}

func (p *process) signal(sig syscall.Signal) {
	_ = syscall.Kill(-p.cmd.Process.Pid, sig) // ESRCH: the group is gone
}

func (p *process) readOutput() {
	t := time.NewTimer(outputGrace)
	defer t.Stop()
	select {
	case <-p.copied:
	case <-t.C:
	}
	_ = p.pipe.Close()
	<-p.copied
}

// exitCode follows the shell: a process killed by signal N exits 128+N.
func exitCode(ps *os.ProcessState) int {
	if ps == nil {
		return -1
	}
	if ws, ok := ps.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
		return 128 + int(ws.Signal())
	}
	return ps.ExitCode()
}

// lookPath finds name in path like a shell does, ignoring relative
// directories. A name with a slash is used as is, relative to the job's
// directory wd.
func lookPath(name, path, wd string) (string, error) {
	if name == "" {
		return "", errors.New("no command given")
	}
	if strings.Contains(name, "/") {
		if !filepath.IsAbs(name) {
			name = filepath.Join(wd, name)
		}
		if _, err := os.Stat(name); err != nil {
			return "", err
		}
		return name, nil
	}
	for _, dir := range filepath.SplitList(path) {
		if !filepath.IsAbs(dir) {
			continue
		}
		p := filepath.Join(dir, name)
		if fi, err := os.Stat(p); err == nil && fi.Mode().IsRegular() && fi.Mode().Perm()&0o111 != 0 {
			return p, nil
		}
	}
	return "", fmt.Errorf("%q: %w", name, exec.ErrNotFound)
}

func envValue(env []string, key string) string {
	for _, kv := range env {
		if v, ok := strings.CutPrefix(kv, key+"="); ok {
			return v
		}
	}
	return ""
}
