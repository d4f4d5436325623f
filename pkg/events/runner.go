package events

import "time"

// The runner (`pave runner`) executes admitted job workloads as OS
// processes. The scheduler dispatches a job with a RunCommand on
// pave.cmd.runner.run.<pool> (the pool is the subject's last token, so the
// runners of a pool share one consumer); runners report on
// pave.evt.runner.job.<event>.
const (
	TypeRunCommand = "dev.pave.cmd.runner.run.v1"

	TypeJobStarted  = "dev.pave.runner.job.started.v1"
	TypeJobFinished = "dev.pave.runner.job.finished.v1"
	TypeJobTimedOut = "dev.pave.runner.job.timedout.v1"
	// TypeJobStopped: the runner killed the job because it was preempted
	// or cancelled.
	TypeJobStopped = "dev.pave.runner.job.stopped.v1"
)

// MaxJobOutput is how much of a job's output (stdout and stderr, the end)
// a report carries.
const MaxJobOutput = 64 << 10

// RunnerSubjectRun is the subject prefix of run commands; the pool follows.
const RunnerSubjectRun = "pave.cmd.runner.run."

func runnerTypes() map[string]any {
	return map[string]any{
		TypeRunCommand:  RunCommand{},
		TypeJobStarted:  JobStarted{},
		TypeJobFinished: JobFinished{},
		TypeJobTimedOut: JobTimedOut{},
		TypeJobStopped:  JobStopped{},
	}
}

// RunCommand is the data of TypeRunCommand: run admission Admission of
// workload WorkloadID.
type RunCommand struct {
	WorkloadID   string  `json:"workload_id"`
	Admission    int     `json:"admission"`
	Team         string  `json:"team"`
	Pool         string  `json:"pool"`
	Job          JobSpec `json:"job"`
	MaxRuntimeMS int64   `json:"max_runtime_ms"`
}

// JobStarted is the data of TypeJobStarted.
type JobStarted struct {
	WorkloadID string    `json:"workload_id"`
	Admission  int       `json:"admission"`
	Runner     string    `json:"runner"`
	Pool       string    `json:"pool"`
	PID        int       `json:"pid"`
	At         time.Time `json:"at"`
}

// JobFinished is the data of TypeJobFinished: the process exited, or
// could not start (ExitCode -1 and Error set).
type JobFinished struct {
	WorkloadID string    `json:"workload_id"`
	Admission  int       `json:"admission"`
	Runner     string    `json:"runner"`
	ExitCode   int       `json:"exit_code"`
	Error      string    `json:"error,omitempty"`
	DurationMS int64     `json:"duration_ms"`
	Output     string    `json:"output"`
	StartedAt  time.Time `json:"started_at"`
	At         time.Time `json:"at"`
}

// JobTimedOut is the data of TypeJobTimedOut: the process ran past the
// workload's maximum runtime and was killed.
type JobTimedOut struct {
	WorkloadID string    `json:"workload_id"`
	Admission  int       `json:"admission"`
	Runner     string    `json:"runner"`
	DurationMS int64     `json:"duration_ms"`
	Output     string    `json:"output"`
	StartedAt  time.Time `json:"started_at"`
	At         time.Time `json:"at"`
}

// JobStopped is the data of TypeJobStopped.
type JobStopped struct {
	WorkloadID string    `json:"workload_id"`
	Admission  int       `json:"admission"`
	Runner     string    `json:"runner"`
	Reason     string    `json:"reason"`
	DurationMS int64     `json:"duration_ms"`
	At         time.Time `json:"at"`
}

// RunnerHeartbeat is the value a runner keeps fresh under its id in the
// SCHEDULER_RUNNERS key-value bucket.
type RunnerHeartbeat struct {
	Runner string         `json:"runner"`
	Pool   string         `json:"pool"`
	Jobs   []RunnerJobRef `json:"jobs"`
	At     time.Time      `json:"at"`
}

// RunnerJobRef names one admission a runner is running.
type RunnerJobRef struct {
	WorkloadID string `json:"workload_id"`
	Admission  int    `json:"admission"`
}
