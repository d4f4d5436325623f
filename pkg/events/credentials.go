package events

import "time"

// Grant credentials: the provisioning service turns the grants on an
// environment into real logins on its resources (a PostgreSQL role, a
// Redis ACL user per grant and resource), and compares what the targets
// really hold with what the grants call for (drift). No event carries a
// password.
const (
	// Commands, on pave.cmd.provisioning.credentials-<action>.
	TypeCredentialsSyncCommand   = "dev.pave.cmd.provisioning.credentials-sync.v1"
	TypeCredentialsRevokeCommand = "dev.pave.cmd.provisioning.credentials-revoke.v1"
	// Results, on pave.evt.provisioning.credentials.<event>.
	TypeCredentialsSynced  = "dev.pave.provisioning.credentials.synced.v1"
	TypeCredentialsRevoked = "dev.pave.provisioning.credentials.revoked.v1"
	TypeCredentialsFailed  = "dev.pave.provisioning.credentials.failed.v1"
	// Drift, on pave.evt.provisioning.credential.drifted.
	TypeCredentialDrifted = "dev.pave.provisioning.credential.drifted.v1"

	DriftExtra   = "extra"
	DriftMissing = "missing"
)

func credentialsTypes() map[string]any {
	return map[string]any{
		TypeCredentialsSyncCommand:   CredentialsSyncCommand{},
		TypeCredentialsRevokeCommand: CredentialsRevokeCommand{},
		TypeCredentialsSynced:        CredentialsSynced{},
		TypeCredentialsRevoked:       CredentialsRevoked{},
		TypeCredentialsFailed:        CredentialsFailed{},
		TypeCredentialDrifted:        CredentialDrifted{},
	}
}

// CredentialsSyncCommand is the data of TypeCredentialsSyncCommand: make
// the logins of an environment's grants real on its resources.
type CredentialsSyncCommand struct {
	Saga          Saga   `json:"saga"`
	EnvironmentID string `json:"environment_id"`
	Team          string `json:"team"`
	// Stage matches grants of scope stage; empty matches none of them.
	Stage string `json:"stage,omitempty"`
}

// CredentialsRevokeCommand is the data of TypeCredentialsRevokeCommand:
// drop every grant login of an environment (teardown, or the undo of a
// sync).
type CredentialsRevokeCommand struct {
	Saga          Saga   `json:"saga"`
	EnvironmentID string `json:"environment_id"`
}

// CredentialsSynced is the data of TypeCredentialsSynced.
type CredentialsSynced struct {
	Saga          Saga   `json:"saga"`
	EnvironmentID string `json:"environment_id"`
	// Issued counts the logins the environment's grants now have.
	Issued int `json:"issued"`
}

// CredentialsRevoked is the data of TypeCredentialsRevoked.
type CredentialsRevoked struct {
	Saga          Saga   `json:"saga"`
	EnvironmentID string `json:"environment_id"`
	// Revoked counts the logins dropped.
	Revoked int `json:"revoked"`
}

// CredentialsFailed is the data of TypeCredentialsFailed.
type CredentialsFailed struct {
	Saga          Saga   `json:"saga"`
	EnvironmentID string `json:"environment_id"`
	// Action is sync or revoke.
	Action    string `json:"action"`
	Reason    string `json:"reason"`
	Retryable bool   `json:"retryable"`
}

// CredentialDrifted is the data of TypeCredentialDrifted: a login on a
// resource that no grant calls for (extra), or a grant's login that is
// not there (missing).
type CredentialDrifted struct {
	Driver string `json:"driver"`
	// ResourceID and EnvironmentID are absent for an extra Pave grant
	// login that holds no rights on any known resource.
	ResourceID    string `json:"resource_id,omitempty"`
	EnvironmentID string `json:"environment_id,omitempty"`
	// Kind is extra or missing.
	Kind string `json:"kind"`
	// Name is the role or ACL user.
	Name string `json:"name"`
	// GrantID is the grant a missing login belongs to.
	GrantID string `json:"grant_id,omitempty"`
	// Remediated says the sweep fixed it: dropped the extra login (or its
	// rights on the resource), or issued the missing one again.
	Remediated bool `json:"remediated"`
	// Error is why remediation did not work, when it was tried.
	Error      string    `json:"error,omitempty"`
	DetectedAt time.Time `json:"detected_at"`
}
