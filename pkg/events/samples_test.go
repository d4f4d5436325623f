package events_test

import (
	"maps"
	"time"

	"github.com/pave-platform/pave/pkg/events"
)

var at = time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC)

var sagaRef = events.Saga{ID: "env-abcdefghijkl.create.1", Step: "provision-db", Attempt: 2, Compensation: true}

var spec = events.ResourceSpec{ID: "env-abcdefghijkl-db", Name: "db", Driver: "postgres", Class: "small",
	Parameters: map[string]any{"connection_limit": float64(20)}}

// provisioningSamples and lifecycleSamples join samples in allSamples.
var provisioningSamples = map[string]any{
	events.TypeProvisionCommand: events.ProvisionCommand{Saga: sagaRef, EnvironmentID: "env-abcdefghijkl", Team: "payments", Resource: spec},
	events.TypeUpdateCommand:    events.UpdateCommand{Saga: sagaRef, EnvironmentID: "env-abcdefghijkl", Team: "payments", Resource: spec},
	events.TypeSanitizeCommand: events.SanitizeCommand{Saga: sagaRef, EnvironmentID: "env-abcdefghijkl",
		ResourceID: "env-abcdefghijkl-db", Driver: "postgres"},
	events.TypeDeprovisionCommand: events.DeprovisionCommand{Saga: sagaRef, EnvironmentID: "env-abcdefghijkl",
		ResourceID: "env-abcdefghijkl-db", Driver: "postgres"},
	events.TypeResourceProvisioned: events.ResourceProvisioned{Saga: sagaRef, EnvironmentID: "env-abcdefghijkl",
		ResourceID: "env-abcdefghijkl-db", Driver: "postgres", ExternalIDs: []string{"database:pave_env_abcdefghijkl_db"},
		Outputs: map[string]string{"host": "127.0.0.1"}, HasCredentials: true},
	events.TypeResourceUpdated: events.ResourceUpdated{Saga: sagaRef, EnvironmentID: "env-abcdefghijkl",
		ResourceID: "env-abcdefghijkl-db", Driver: "postgres", ExternalIDs: []string{"database:pave_env_abcdefghijkl_db"},
		Outputs: map[string]string{"host": "127.0.0.1"}, HasCredentials: true},
	events.TypeResourceSanitized: events.ResourceSanitized{Saga: sagaRef, EnvironmentID: "env-abcdefghijkl", ResourceID: "env-abcdefghijkl-db",
		Abandoned: "abandoned: the postgres server was declared gone by alice"},
	events.TypeResourceDeprovisioned: events.ResourceDeprovisioned{Saga: sagaRef, EnvironmentID: "env-abcdefghijkl",
		ResourceID: "env-abcdefghijkl-db", Existed: true, Abandoned: "abandoned: the postgres server was declared gone by alice"},
	events.TypeResourceFailed: events.ResourceFailed{Saga: sagaRef, EnvironmentID: "env-abcdefghijkl",
		ResourceID: "env-abcdefghijkl-db", Action: "provision", Reason: "connection refused", Retryable: true},
	events.TypeResourceOrphaned: events.ResourceOrphaned{Driver: "redis", ExternalID: "user:pave_x", Removed: true, DetectedAt: at},
}

var lifecycleSamples = map[string]any{
	events.TypeSagaProgressed: events.SagaProgressed{SagaID: "env-abcdefghijkl.create.1", Definition: "environment-create.web-service.1.0.0",
		Seq: 3, Input: "step_failed", Status: "compensating", Step: "provision-db", Reason: "refused", Deadline: at,
		Steps: []events.SagaStep{{Name: "provision-db", Status: "compensating", Attempts: 1, UndoAttempts: 1, Error: "refused"}}, At: at},
	events.TypeSagaAlerted: events.SagaAlerted{SagaID: "env-abcdefghijkl.create.1", Definition: "environment-create.web-service.1.0.0",
		Seq: 9, Alert: "compensation_failed", Step: "provision-db", Reason: "refused", At: at},
}

var workloadSpec = events.WorkloadSpec{ID: "build-42.test", Team: "payments", Pool: "ci", Kind: events.WorkloadKindJob,
	Demand: map[string]int64{"cpu": 2000, "memory": 4096}, Priority: 5, DependsOn: []string{"build-42.compile"},
	Preemptible: true, MinRuntimeMS: 60000, MaxRuntimeMS: 600000,
	Job:    &events.JobSpec{Command: "go", Args: []string{"test", "./..."}, Env: map[string]string{"CGO_ENABLED": "0"}, Dir: "/src"},
	Labels: map[string]string{"cost-center": "cc-17"}}

var jobSpec = events.JobSpec{Command: "go", Args: []string{"test", "./..."}, Env: map[string]string{"CGO_ENABLED": "0"}, Dir: "/src"}

var quotas = map[string]map[string]int64{"ci": {"cpu": 4000, "memory": 8192}}

// schedulerSamples and runnerSamples join samples in allSamples.
var schedulerSamples = map[string]any{
	events.TypeSubmitCommand: events.SubmitCommand{Workload: workloadSpec, Saga: &sagaRef, SubmittedBy: "user:alice"},
	events.TypeReleaseCommand: events.ReleaseCommand{WorkloadID: "env-abcdefghijkl", Reason: "environment torn down",
		Saga: &sagaRef},
	events.TypeSettleCommand: events.SettleCommand{WorkloadID: "env-abcdefghijkl", Release: map[string]int64{"ops": 1},
		Saga: &sagaRef},
	events.TypeCancelCommand: events.CancelCommand{WorkloadID: "build-42.test", Reason: "superseded", By: "user:alice"},
	events.TypePoolConfigured: events.PoolConfigured{Name: "ci", Capacity: map[string]int64{"cpu": 9000, "memory": 18432, "ops": 4},
		Source: "file", At: at},
	events.TypeTeamConfigured: events.TeamConfigured{Name: "payments", Weight: 1.5, Nominal: quotas, BorrowingLimit: quotas,
		LendingLimit: quotas, Source: "api", At: at},
	events.TypeWorkloadSubmitted: events.WorkloadSubmitted{Workload: workloadSpec, Saga: &sagaRef, SubmittedBy: "user:alice",
		SubmittedAt: at},
	events.TypeWorkloadRejected: events.WorkloadRejected{WorkloadID: "build-42.test", Team: "payments", Field: "demand.gpu",
		Reason: "the pool has no resource gpu", Saga: &sagaRef, At: at},
	events.TypeWorkloadWaiting: events.WorkloadWaiting{WorkloadID: "env-abcdefghijkl", Team: "payments", Kind: events.WorkloadKindEnvironment,
		Reason: "pool dev is full", Position: 2, Saga: &sagaRef, At: at},
	events.TypeWorkloadAdmitted: events.WorkloadAdmitted{WorkloadID: "env-abcdefghijkl", Team: "payments", Pool: "dev",
		Kind: events.WorkloadKindEnvironment, Demand: map[string]int64{"cpu": 500, "ops": 1}, Admission: 1, Saga: &sagaRef,
		WaitedMS: 1200, At: at},
	events.TypeWorkloadStarted: events.WorkloadStarted{WorkloadID: "build-42.test", Admission: 1, Runner: "runner-ci-1", At: at},
	events.TypeWorkloadPreempted: events.WorkloadPreempted{WorkloadID: "build-42.test", Team: "payments", Admission: 1,
		By: "deploy-7", Reason: "team platform reclaims its nominal quota", At: at},
	events.TypeWorkloadRequeued: events.WorkloadRequeued{WorkloadID: "build-42.test", Admission: 2,
		Reason: "runner runner-ci-1 sent no heartbeat for 30s; the job is queued again", At: at},
	events.TypeWorkloadSettled: events.WorkloadSettled{WorkloadID: "env-abcdefghijkl", Demand: map[string]int64{"cpu": 500, "ops": 0},
		Saga: &sagaRef, At: at},
	events.TypeWorkloadFinished: events.WorkloadFinished{WorkloadID: "build-42.test", Team: "payments", Admission: 1,
		ExitCode: 3, DurationMS: 4500, Output: "ok\n", At: at}, // exit code 0 in practice; non-zero so the round trip sees it
	events.TypeWorkloadFailed: events.WorkloadFailed{WorkloadID: "build-42.test", Team: "payments", Admission: 1,
		Reason: "exited with code 2", ExitCode: 2, DurationMS: 4500, Output: "FAIL\n", At: at},
	events.TypeWorkloadCancelled: events.WorkloadCancelled{WorkloadID: "build-42.test", Team: "payments",
		Reason: "build-42.compile failed", Saga: &sagaRef, At: at},
	events.TypeWorkloadReleased: events.WorkloadReleased{WorkloadID: "env-abcdefghijkl", Existed: true,
		Reason: "environment torn down", Saga: &sagaRef, At: at},
	events.TypeSchedulerLeadership: events.LeaderElected{Instance: "scheduler-0", Term: 7, Replayed: 1024, At: at},
}

var runnerSamples = map[string]any{
	events.TypeRunCommand: events.RunCommand{WorkloadID: "build-42.test", Admission: 1, Team: "payments", Pool: "ci",
		Job: jobSpec, MaxRuntimeMS: 600000},
	events.TypeJobStarted: events.JobStarted{WorkloadID: "build-42.test", Admission: 1, Runner: "runner-ci-1", Pool: "ci",
		PID: 4242, At: at},
	events.TypeJobFinished: events.JobFinished{WorkloadID: "build-42.test", Admission: 1, Runner: "runner-ci-1", ExitCode: -1,
		Error: "exec: \"go\": executable file not found in $PATH", DurationMS: 1, Output: "starting\n",
		StartedAt: at, At: at.Add(time.Millisecond)},
	events.TypeJobTimedOut: events.JobTimedOut{WorkloadID: "build-42.test", Admission: 1, Runner: "runner-ci-1",
		DurationMS: 600000, Output: "ok  \tpkg/a\n", StartedAt: at, At: at.Add(10 * time.Minute)},
	events.TypeJobStopped: events.JobStopped{WorkloadID: "build-42.test", Admission: 1, Runner: "runner-ci-1",
		Reason: "preempted", DurationMS: 2500, At: at},
}

// allSamples is one sample per type, from every area.
func allSamples() map[string]any {
	out := maps.Clone(samples)
	maps.Copy(out, provisioningSamples)
	maps.Copy(out, lifecycleSamples)
	maps.Copy(out, schedulerSamples)
	maps.Copy(out, runnerSamples)
	maps.Copy(out, costSamples)
	maps.Copy(out, accessSamples)
	maps.Copy(out, credentialsSamples)
	maps.Copy(out, incidentSamples)
	maps.Copy(out, gatewaySamples)
	maps.Copy(out, promotionSamples)
	maps.Copy(out, notifySamples)
	return out
}
