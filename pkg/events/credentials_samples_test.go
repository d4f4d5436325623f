package events_test

import "github.com/pave-platform/pave/pkg/events"

var credSaga = events.Saga{ID: "env-abcdefghijkl.create.1", Step: "issue-credentials", Attempt: 1}

// credentialsSamples join samples in allSamples.
var credentialsSamples = map[string]any{
	events.TypeCredentialsSyncCommand: events.CredentialsSyncCommand{Saga: credSaga, EnvironmentID: "env-abcdefghijkl",
		Team: "payments", Stage: "prod"},
	events.TypeCredentialsRevokeCommand: events.CredentialsRevokeCommand{Saga: credSaga, EnvironmentID: "env-abcdefghijkl"},
	events.TypeCredentialsSynced:        events.CredentialsSynced{Saga: credSaga, EnvironmentID: "env-abcdefghijkl", Issued: 2},
	events.TypeCredentialsRevoked:       events.CredentialsRevoked{Saga: credSaga, EnvironmentID: "env-abcdefghijkl", Revoked: 2},
	events.TypeCredentialsFailed: events.CredentialsFailed{Saga: credSaga, EnvironmentID: "env-abcdefghijkl",
		Action: "sync", Reason: "connect to postgres: refused", Retryable: true},
	events.TypeCredentialDrifted: events.CredentialDrifted{Driver: "postgres", ResourceID: "env-abcdefghijkl-db",
		EnvironmentID: "env-abcdefghijkl", Kind: events.DriftMissing, Name: "paveg_0123456789abcdef", GrantID: "grt-1",
		Remediated: true, Error: "drop role: connection refused", DetectedAt: at},
}
