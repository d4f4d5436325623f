// Package provisioning is the provisioning service: the resource ledger
// and the drivers that create, update, sanitize and delete real resources.
//
//	pave.cmd.provisioning.{provision,update,sanitize,deprovision}  (CMD_PROVISIONING, durable "provisioning")
//	  └─ app handler ─ ledger (KV PROVISIONING_LEDGER, CAS) ─ driver (postgres|redis|nats|http|exec)
//	       └─ one result: pave.evt.provisioning.resource.{provisioned,updated,sanitized,deprovisioned,failed}
//	pave.provisioning.credentials (request/reply) ─ sealed login from the ledger
//	sweeper (every PAVE_PROVISIONING_SWEEP_INTERVAL) ─ inventories vs ledger ─ resource.orphaned
//	pave.evt.access.grant.{activated,revoked} (EVT_ACCESS, durable "provisioning-grants")
//	pave.cmd.provisioning.credentials-{sync,revoke} ─ grant store (KV PROVISIONING_GRANTS, CAS)
//	  └─ grant logins (paveg_<hash>: a PostgreSQL role, a Redis ACL user) ─ credentials.{synced,revoked,failed}
//	pave.provisioning.grant-credentials (request/reply) ─ the caller's own sealed grant logins
//	drift sweep (every PAVE_PROVISIONING_DRIFT_INTERVAL, or pave.provisioning.credential-drift.sweep)
//	  ─ logins on targets vs grants ─ credential.drifted
//
// Names of real objects derive from the resource id (pave_<id>), so they
// are recorded in the ledger before a driver creates anything.
package provisioning

import (
	"go.uber.org/fx"

	"github.com/pave-platform/pave/pkg/service"
	"github.com/pave-platform/pave/services/provisioning/internal/adapters"
	"github.com/pave-platform/pave/services/provisioning/internal/ports"
)

// Name of the service, its streams and its subjects.
const Name = "provisioning"

// LedgerBucket is the JetStream KV bucket the service owns.
const LedgerBucket = adapters.LedgerBucket

// SubjectCredentials is answered with a resource's login: an rpc.Request
// whose body (or path values) is a CredentialsRequest, answered with an
// rpc.Reply whose body is a CredentialsReply, or 404.
const SubjectCredentials = ports.SubjectCredentials

// Wire types of SubjectCredentials.
type (
	CredentialsRequest = ports.CredentialsRequest
	CredentialsReply   = ports.CredentialsReply
	// GrantLoginReply is one item of rpc.GrantCredentials' answer.
	GrantLoginReply = ports.GrantLoginReply
)

// Module runs the provisioning service.
var Module = fx.Module(Name,
	service.Lifecycle(Name),
	fx.Invoke(run),
)
