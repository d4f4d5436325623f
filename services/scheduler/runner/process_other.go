//go:build !linux

package runner

import (
	"os"
	"syscall"
)

// sysProcAttr starts a job in its own process group, so that a timeout or
// a preemption can kill all it started. Outside Linux a job outlives a
// runner that is killed.
func sysProcAttr(cred *syscall.Credential) *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Setpgid: true, Credential: cred}
}

// wrap runs the command as is: outside Linux the resource limits are not
// implemented.
func wrap(path string, argv []string, _ Limits) (string, []string, *os.File, error) {
	return path, argv, nil, nil
}
