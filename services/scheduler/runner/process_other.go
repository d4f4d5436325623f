//go:build !linux

package runner

import "syscall"

// sysProcAttr starts a job in its own process group, so that a timeout or
// a preemption can kill all it started. Outside Linux a job outlives a
// runner that is killed.
func sysProcAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Setpgid: true}
}
