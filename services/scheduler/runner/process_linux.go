package runner

import "syscall"

// sysProcAttr starts a job as the job user (cred; nil: the runner's own
// user) in its own process group, so that a timeout or a preemption can
// kill all it started, and asks the kernel to kill it when the runner
// dies: the scheduler requeues the jobs of a runner that stops
// heartbeating, and the old process must not go on beside the new one.
// (Pdeathsig reaches the job's own process; what the job started in its
// group outlives a killed runner.)
func sysProcAttr(cred *syscall.Credential) *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL, Credential: cred}
}
