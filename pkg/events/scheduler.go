package events

import "time"

// Commands the scheduler takes, on pave.cmd.scheduler.<action>.
const (
	// TypeSubmitCommand queues a workload. A saga's admit step sends it
	// with Saga set; the answer is WorkloadAdmitted or WorkloadRejected.
	TypeSubmitCommand = "dev.pave.cmd.scheduler.submit.v1"
	// TypeReleaseCommand gives an admission back (an environment torn
	// down, a saga compensating its admit step) or withdraws a queued
	// workload. Always answered by WorkloadReleased, also for an unknown id.
	TypeReleaseCommand = "dev.pave.cmd.scheduler.release.v1"
	// TypeSettleCommand shrinks an admitted workload's demand, e.g. an
	// environment giving back its provisioning operation once it is ready.
	TypeSettleCommand = "dev.pave.cmd.scheduler.settle.v1"
	// TypeCancelCommand cancels a workload: a queued one is dequeued, a
	// running job is stopped by its runner.
	TypeCancelCommand = "dev.pave.cmd.scheduler.cancel.v1"
)

// Events the scheduler's leader appends to its log, on
// pave.evt.scheduler.<entity>.<event>. The stream EVT_SCHEDULER holds
// nothing else: replaying it rebuilds the scheduler's state.
const (
	TypePoolConfigured      = "dev.pave.scheduler.pool.configured.v1"
	TypeTeamConfigured      = "dev.pave.scheduler.team.configured.v1"
	TypeWorkloadSubmitted   = "dev.pave.scheduler.workload.submitted.v1"
	TypeWorkloadRejected    = "dev.pave.scheduler.workload.rejected.v1"
	TypeWorkloadWaiting     = "dev.pave.scheduler.workload.waiting.v1"
	TypeWorkloadAdmitted    = "dev.pave.scheduler.workload.admitted.v1"
	TypeWorkloadStarted     = "dev.pave.scheduler.workload.started.v1"
	TypeWorkloadPreempted   = "dev.pave.scheduler.workload.preempted.v1"
	TypeWorkloadRequeued    = "dev.pave.scheduler.workload.requeued.v1"
	TypeWorkloadSettled     = "dev.pave.scheduler.workload.settled.v1"
	TypeWorkloadFinished    = "dev.pave.scheduler.workload.finished.v1"
	TypeWorkloadFailed      = "dev.pave.scheduler.workload.failed.v1"
	TypeWorkloadCancelled   = "dev.pave.scheduler.workload.cancelled.v1"
	TypeWorkloadReleased    = "dev.pave.scheduler.workload.released.v1"
	TypeSchedulerLeadership = "dev.pave.scheduler.leader.elected.v1"
)

// Workload kinds.
const (
	WorkloadKindEnvironment = "environment"
	WorkloadKindJob         = "job"
)

// schedulerTypes are the commands and events of the scheduler.
func schedulerTypes() map[string]any {
	return map[string]any{
		TypeSubmitCommand:       SubmitCommand{},
		TypeReleaseCommand:      ReleaseCommand{},
		TypeSettleCommand:       SettleCommand{},
		TypeCancelCommand:       CancelCommand{},
		TypePoolConfigured:      PoolConfigured{},
		TypeTeamConfigured:      TeamConfigured{},
		TypeWorkloadSubmitted:   WorkloadSubmitted{},
		TypeWorkloadRejected:    WorkloadRejected{},
		TypeWorkloadWaiting:     WorkloadWaiting{},
		TypeWorkloadAdmitted:    WorkloadAdmitted{},
		TypeWorkloadStarted:     WorkloadStarted{},
		TypeWorkloadPreempted:   WorkloadPreempted{},
		TypeWorkloadRequeued:    WorkloadRequeued{},
		TypeWorkloadSettled:     WorkloadSettled{},
		TypeWorkloadFinished:    WorkloadFinished{},
		TypeWorkloadFailed:      WorkloadFailed{},
		TypeWorkloadCancelled:   WorkloadCancelled{},
		TypeWorkloadReleased:    WorkloadReleased{},
		TypeSchedulerLeadership: LeaderElected{},
	}
}

// JobSpec is the OS process a job workload runs.
type JobSpec struct {
	Command string            `json:"command"`
	Args    []string          `json:"args,omitempty"`
	Env     map[string]string `json:"env,omitempty"`
	Dir     string            `json:"dir,omitempty"`
}

// WorkloadSpec is what a submitter asks for.
type WorkloadSpec struct {
	// ID is 1 to 128 of [A-Za-z0-9._-].
	ID   string `json:"id"`
	Team string `json:"team"`
	Pool string `json:"pool"`
	// Kind is environment or job.
	Kind string `json:"kind"`
	// Demand is a quantity per resource of the pool: cpu in millicores,
	// memory in MiB, ops in concurrent operations.
	Demand      map[string]int64 `json:"demand"`
	Priority    int              `json:"priority"`
	DependsOn   []string         `json:"depends_on,omitempty"`
	Preemptible bool             `json:"preemptible"`
	// MinRuntimeMS: never preempted before it has run this long.
	MinRuntimeMS int64 `json:"min_runtime_ms"`
	// MaxRuntimeMS: a job's timeout; 0 means none.
	MaxRuntimeMS int64    `json:"max_runtime_ms"`
	Job          *JobSpec `json:"job,omitempty"`
	// Labels are free-form, for cost aggregation and queries.
	Labels map[string]string `json:"labels,omitempty"`
}

// SubmitCommand is the data of TypeSubmitCommand.
type SubmitCommand struct {
	Workload WorkloadSpec `json:"workload"`
	// Saga is set when a saga step sends the command.
	Saga *Saga `json:"saga,omitempty"`
	// SubmittedBy is the principal that asked.
	SubmittedBy string `json:"submitted_by"`
}

// ReleaseCommand is the data of TypeReleaseCommand.
type ReleaseCommand struct {
	WorkloadID string `json:"workload_id"`
	Reason     string `json:"reason"`
	Saga       *Saga  `json:"saga,omitempty"`
}

// SettleCommand is the data of TypeSettleCommand.
type SettleCommand struct {
	WorkloadID string `json:"workload_id"`
	// Release is subtracted from the workload's demand.
	Release map[string]int64 `json:"release"`
	Saga    *Saga            `json:"saga,omitempty"`
}

// CancelCommand is the data of TypeCancelCommand.
type CancelCommand struct {
	WorkloadID string `json:"workload_id"`
	Reason     string `json:"reason"`
	// By is the principal that cancelled.
	By string `json:"by"`
}

// PoolConfigured is the data of TypePoolConfigured: a pool's capacity,
// from the configuration file or the API.
type PoolConfigured struct {
	Name     string           `json:"name"`
	Capacity map[string]int64 `json:"capacity"`
	// Source is file or api.
	Source string    `json:"source"`
	At     time.Time `json:"at"`
}

// TeamConfigured is the data of TypeTeamConfigured: a team's weight and
// quotas per pool.
type TeamConfigured struct {
	Name           string                      `json:"name"`
	Weight         float64                     `json:"weight"`
	Nominal        map[string]map[string]int64 `json:"nominal,omitempty"`
	BorrowingLimit map[string]map[string]int64 `json:"borrowing_limit,omitempty"`
	LendingLimit   map[string]map[string]int64 `json:"lending_limit,omitempty"`
	Source         string                      `json:"source"`
	At             time.Time                   `json:"at"`
}

// WorkloadSubmitted is the data of TypeWorkloadSubmitted: the workload is
// queued.
type WorkloadSubmitted struct {
	Workload    WorkloadSpec `json:"workload"`
	Saga        *Saga        `json:"saga,omitempty"`
	SubmittedBy string       `json:"submitted_by"`
	SubmittedAt time.Time    `json:"submitted_at"`
}

// WorkloadRejected is the data of TypeWorkloadRejected: a submit that was
// invalid; nothing was queued.
type WorkloadRejected struct {
	WorkloadID string    `json:"workload_id"`
	Team       string    `json:"team"`
	Field      string    `json:"field"`
	Reason     string    `json:"reason"`
	Saga       *Saga     `json:"saga,omitempty"`
	At         time.Time `json:"at"`
}

// WorkloadWaiting is the data of TypeWorkloadWaiting: why a queued
// environment workload is not admitted, each time the reason changes.
type WorkloadWaiting struct {
	WorkloadID string    `json:"workload_id"`
	Team       string    `json:"team"`
	Kind       string    `json:"kind"`
	Reason     string    `json:"reason"`
	Position   int       `json:"position"`
	Saga       *Saga     `json:"saga,omitempty"`
	At         time.Time `json:"at"`
}

// WorkloadAdmitted is the data of TypeWorkloadAdmitted.
type WorkloadAdmitted struct {
	WorkloadID string           `json:"workload_id"`
	Team       string           `json:"team"`
	Pool       string           `json:"pool"`
	Kind       string           `json:"kind"`
	Demand     map[string]int64 `json:"demand"`
	// Admission counts the workload's admissions from 1; a preempted or
	// requeued workload is admitted again with the next number.
	Admission int       `json:"admission"`
	Saga      *Saga     `json:"saga,omitempty"`
	WaitedMS  int64     `json:"waited_ms"`
	At        time.Time `json:"at"`
}

// WorkloadStarted is the data of TypeWorkloadStarted: a runner started
// the job of this admission.
type WorkloadStarted struct {
	WorkloadID string    `json:"workload_id"`
	Admission  int       `json:"admission"`
	Runner     string    `json:"runner"`
	At         time.Time `json:"at"`
}

// WorkloadPreempted is the data of TypeWorkloadPreempted: the workload
// went back to the queue so that By could run.
type WorkloadPreempted struct {
	WorkloadID string    `json:"workload_id"`
	Team       string    `json:"team"`
	Admission  int       `json:"admission"`
	By         string    `json:"by"`
	Reason     string    `json:"reason"`
	At         time.Time `json:"at"`
}

// WorkloadRequeued is the data of TypeWorkloadRequeued: the admission
// was reclaimed (its runner stopped heartbeating) and the workload queued
// again.
type WorkloadRequeued struct {
	WorkloadID string    `json:"workload_id"`
	Admission  int       `json:"admission"`
	Reason     string    `json:"reason"`
	At         time.Time `json:"at"`
}

// WorkloadSettled is the data of TypeWorkloadSettled.
type WorkloadSettled struct {
	WorkloadID string           `json:"workload_id"`
	Demand     map[string]int64 `json:"demand"`
	Saga       *Saga            `json:"saga,omitempty"`
	At         time.Time        `json:"at"`
}

// WorkloadFinished is the data of TypeWorkloadFinished: a job exited 0.
type WorkloadFinished struct {
	WorkloadID string `json:"workload_id"`
	Team       string `json:"team"`
	Admission  int    `json:"admission"`
	ExitCode   int    `json:"exit_code"`
	DurationMS int64  `json:"duration_ms"`
	// Output is the end of the job's output, at most MaxLoggedOutput bytes;
	// the runner's job report has more.
	Output string    `json:"output,omitempty"`
	At     time.Time `json:"at"`
}

// MaxLoggedOutput bounds the output a workload's end keeps in the
// scheduler's log.
const MaxLoggedOutput = 4 << 10

// WorkloadFailed is the data of TypeWorkloadFailed: a job exited non-zero,
// timed out, or could not start. Its dependants are cancelled.
type WorkloadFailed struct {
	WorkloadID string `json:"workload_id"`
	Team       string `json:"team"`
	Admission  int    `json:"admission"`
	Reason     string `json:"reason"`
	ExitCode   int    `json:"exit_code"`
	DurationMS int64  `json:"duration_ms"`
	// Output is the end of the job's output, at most MaxLoggedOutput bytes.
	Output string    `json:"output,omitempty"`
	At     time.Time `json:"at"`
}

// WorkloadCancelled is the data of TypeWorkloadCancelled: a parent
// failed or was cancelled, or someone cancelled the workload.
type WorkloadCancelled struct {
	WorkloadID string    `json:"workload_id"`
	Team       string    `json:"team"`
	Reason     string    `json:"reason"`
	Saga       *Saga     `json:"saga,omitempty"`
	At         time.Time `json:"at"`
}

// WorkloadReleased is the data of TypeWorkloadReleased: the admission was
// given back. Existed is false when the workload was unknown or already
// over (a null compensation).
type WorkloadReleased struct {
	WorkloadID string    `json:"workload_id"`
	Existed    bool      `json:"existed"`
	Reason     string    `json:"reason"`
	Saga       *Saga     `json:"saga,omitempty"`
	At         time.Time `json:"at"`
}

// LeaderElected is the data of TypeSchedulerLeadership: an instance took
// the lease and rebuilt its state from the log.
type LeaderElected struct {
	Instance string    `json:"instance"`
	Term     uint64    `json:"term"`
	Replayed int64     `json:"replayed"`
	At       time.Time `json:"at"`
}
