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

// EnvironmentReceipt answers an environment's teardown receipt, from
// provisioning: Path {id} -> {environment_id, steps: [{resource_id,
// driver, action, method, before, after, evidence, existed,
// credentials_revoked, at}], updated_at}; 404 before teardown began. The
// gateway looks the environment up first (authorized like reading it),
// so the id never reveals another team's environment.
const EnvironmentReceipt = "pave.provisioning.receipt"
