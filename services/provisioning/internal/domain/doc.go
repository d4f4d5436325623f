// Package domain holds the provisioning service's pure types and rules:
// resources, the names their real objects get, the ledger record and its
// states, and the errors that tell a retry from a refusal.
//
//	provision:   (none) ──record planned ids──▶ provisioning ──driver ok──▶ ready
//	update:      ready ──driver ok──▶ ready
//	deprovision: provisioning|ready ──▶ deprovisioning ──driver ok──▶ deleted (tombstone)
//	             (none) ──────────────────────────────────────────────▶ deleted (null compensation)
//	provision of a deleted id: refused, nothing is created (hanging)
//	deleted ──tombstone retention over──▶ (none): the record leaves the ledger
//	provision issued longer ago than the tombstone retention: refused
//
// Vocabulary:
//   - object name: pave_ + the resource id with hyphens as underscores. The
//     mapping is one-to-one because ids have no underscores, so the name of
//     every real object is known, and recorded, before it is created.
//   - external id: <kind>:<object name> as a driver reports it, e.g.
//     database:pave_env1_db.
//   - tombstone: a ledger record in state deleted. It is kept for the
//     tombstone retention (PAVE_PROVISIONING_TOMBSTONE_RETENTION, 30 days),
//     so a late provision of the same id is refused; then it is removed,
//     and a provision command that old is refused by its age instead (a
//     command leaves CMD_PROVISIONING within minutes while provisioning
//     runs; only an outage longer than the retention holds one longer).
//   - horizon: now less the tombstone retention; a tombstone last written
//     before it may go.
package domain
