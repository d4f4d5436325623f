// Package domain holds the provisioning service's pure types and rules:
// resources, the names their real objects get, the ledger record and its
// states, and the errors that tell a retry from a refusal.
//
//	provision:   (none) ──record planned ids──▶ provisioning ──driver ok──▶ ready
//	update:      ready ──driver ok──▶ ready
//	deprovision: provisioning|ready ──▶ deprovisioning ──driver ok──▶ deleted (tombstone)
//	             (none) ──────────────────────────────────────────────▶ deleted (null compensation)
//	provision of a deleted id: refused, nothing is created (hanging)
//
// Vocabulary:
//   - object name: pave_ + the resource id with hyphens as underscores. The
//     mapping is one-to-one because ids have no underscores, so the name of
//     every real object is known, and recorded, before it is created.
//   - external id: <kind>:<object name> as a driver reports it, e.g.
//     database:pave_env1_db.
//   - tombstone: a ledger record in state deleted. It is never removed, so
//     a late provision of the same id is refused.
package domain
