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
	events.TypeResourceSanitized: events.ResourceSanitized{Saga: sagaRef, EnvironmentID: "env-abcdefghijkl", ResourceID: "env-abcdefghijkl-db"},
	events.TypeResourceDeprovisioned: events.ResourceDeprovisioned{Saga: sagaRef, EnvironmentID: "env-abcdefghijkl",
		ResourceID: "env-abcdefghijkl-db", Existed: true},
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

// allSamples is one sample per type, from every area.
func allSamples() map[string]any {
	out := maps.Clone(samples)
	maps.Copy(out, provisioningSamples)
	maps.Copy(out, lifecycleSamples)
	return out
}
