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

// Provisioning's servers, for operators (platform admins).
const (
	// ServersList answers {"items": [{driver, configured, gone?}]}: each
	// driver's server and whether an operator declared it gone.
	ServersList = "pave.provisioning.servers.list"
	// ServersDeclareGone records, for Path {driver} and Body {reason},
	// that the driver's server is lost for good: undo, sanitize and
	// deprovision of resources on it stop waiting for it and write them
	// off as abandoned, naming the declaration.
	ServersDeclareGone = "pave.provisioning.servers.declare-gone"
	// ServersRestore takes a declaration back (Path {driver}).
	ServersRestore = "pave.provisioning.servers.restore"
)

// EnvironmentReceipt answers an environment's teardown receipt, from
// provisioning: Path {id} -> {environment_id, steps: [{resource_id,
// driver, action, method, before, after, evidence, existed,
// credentials_revoked, at}], updated_at}; 404 before teardown began. The
// gateway looks the environment up first (authorized like reading it),
// so the id never reveals another team's environment.
const EnvironmentReceipt = "pave.provisioning.receipt"
