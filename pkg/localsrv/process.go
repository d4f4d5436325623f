package localsrv

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"strings"
	"sync"
	"syscall"
	"time"
)

// stopTimeout is how long a server gets to shut down gracefully before its
// process group is killed.
const stopTimeout = 15 * time.Second

// probeInterval is the pause between two readiness probes.
const probeInterval = 25 * time.Millisecond

// errExited reports a server that died before it became ready, typically
// because its port was taken between FreePort and bind.
var errExited = errors.New("exited before it was ready")

// process is one running server, started in its own process group.
type process struct {
	cmd     *exec.Cmd
	logPath string
	done    chan struct{} // closed when the process has exited
	waitErr error         // valid after done is closed

	stopOnce sync.Once
	stopErr  error
}

// startProcess spawns cmd with its output appended to logPath. cred, when
// set, runs it as another OS user.
func startProcess(cmd *exec.Cmd, logPath string, cred *syscall.Credential) (*process, error) {
	logFile, err := os.OpenFile(logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return nil, fmt.Errorf("open log: %w", err)
	}
	defer logFile.Close() // the child holds its own descriptor
	cmd.Stdout, cmd.Stderr = logFile, logFile
	cmd.SysProcAttr = &syscall.SysProcAttr{
		Setpgid:    true,
		Pdeathsig:  syscall.SIGKILL,
		Credential: cred,
	}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("run %s: %w", cmd.Path, err)
	}
	p := &process{cmd: cmd, logPath: logPath, done: make(chan struct{})}
	go func() {
		p.waitErr = cmd.Wait()
		close(p.done)
	}()
	return p, nil
}

// waitReady calls probe until it succeeds, the process exits or ctx ends.
func (p *process) waitReady(ctx context.Context, probe func(context.Context) error) error {
	ticker := time.NewTicker(probeInterval)
	defer ticker.Stop()
	for {
		err := probe(ctx)
		if err == nil {
			return nil
		}
		select {
		case <-p.done:
			return fmt.Errorf("%w: %v; log %s:\n%s", errExited, p.waitErr, p.logPath, p.logTail())
		case <-ctx.Done():
			return fmt.Errorf("not ready: %w (last probe: %v); log %s:\n%s", ctx.Err(), err, p.logPath, p.logTail())
		case <-ticker.C:
		}
	}
}

// stop sends sig to the server, waits for it to exit and kills the whole
// process group if it does not within stopTimeout. It is idempotent.
func (p *process) stop(sig syscall.Signal) error {
	p.stopOnce.Do(func() { p.stopErr = p.signalAndWait(sig) })
	return p.stopErr
}

func (p *process) signalAndWait(sig syscall.Signal) error {
	pid := p.cmd.Process.Pid
	_ = syscall.Kill(pid, sig) // fails only if it already exited
	timer := time.NewTimer(stopTimeout)
	defer timer.Stop()
	select {
	case <-p.done:
		err := p.exitError(sig)
		if err != nil {
			// A crashed server may leave children (postgres backends).
			_ = syscall.Kill(-pid, syscall.SIGKILL)
		}
		return err
	case <-timer.C:
		_ = syscall.Kill(-pid, syscall.SIGKILL)
		<-p.done
		return fmt.Errorf("killed after %s without exiting on %s", stopTimeout, sig)
	}
}

// exitError accepts a clean exit or death by the signal we sent.
func (p *process) exitError(sig syscall.Signal) error {
	var exitErr *exec.ExitError
	if !errors.As(p.waitErr, &exitErr) {
		return p.waitErr
	}
	if status, ok := exitErr.Sys().(syscall.WaitStatus); ok && status.Signaled() && status.Signal() == sig {
		return nil
	}
	return fmt.Errorf("exit: %w; log %s:\n%s", p.waitErr, p.logPath, p.logTail())
}

// logTail returns the end of the log, for error messages.
func (p *process) logTail() string {
	const maxTail = 2048
	f, err := os.Open(p.logPath)
	if err != nil {
		return ""
	}
	defer f.Close()
	if info, err := f.Stat(); err == nil && info.Size() > maxTail {
		_, _ = f.Seek(-maxTail, io.SeekEnd)
	}
	b, _ := io.ReadAll(f)
	return strings.TrimSpace(string(b))
}

// FreePort returns a TCP port on 127.0.0.1 that was free a moment ago.
func FreePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, fmt.Errorf("free port: %w", err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// startWithPortRetry runs start on cfgPort or, when it is 0, on a free
// port, trying again with a new port when the server dies before it is
// ready: another process may have taken the port in between.
func startWithPortRetry(cfgPort int, start func(port int) error) error {
	const attempts = 3
	var err error
	for range attempts {
		port := cfgPort
		if port == 0 {
			if port, err = FreePort(); err != nil {
				return err
			}
		}
		err = start(port)
		if cfgPort != 0 || !errors.Is(err, errExited) {
			return err
		}
	}
	return err
}
