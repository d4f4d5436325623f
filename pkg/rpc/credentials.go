package rpc

// Grant credentials, answered by provisioning.
const (
	// GrantCredentials answers the logins a principal's grants hold on an
	// environment's resources: Query {environment_id} with the caller as
	// Principal -> {"items": [{grant_id, resource_id, driver, username,
	// password, url, expires_at}]}. Only the grantee gets its own; an
	// environment with none for the caller answers an empty list.
	GrantCredentials = "pave.provisioning.grant-credentials"
	// CredentialDriftSweep runs the credential drift sweep now and answers
	// {"items": [drift...]} as the drifted events say it (operators, tests).
	CredentialDriftSweep = "pave.provisioning.credential-drift.sweep"
)
