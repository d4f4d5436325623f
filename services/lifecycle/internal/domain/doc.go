// Package domain holds the lifecycle service's pure types and rules:
// templates (golden paths) and their catalog, and the Environment
// aggregate with its state machine and lease. It does no I/O.
//
//	template file ─ ParseTemplate ─ Catalog ─┐
//	CreateRequest ─────────── NewEnvironmentRequest ─ NewEnvironment ─ Environment
//	                            (Template.Resolve)                     │ Queue, WaitForAdmission, MarkProvisioning,
//	                                                                   │ MarkReady, BeginUpdate, BeginTeardown, MarkDeleted,
//	                                                                   │ Expiring, Expire, Extend, SetKeep …
//	                                                                   ▼
//	                                                            next Environment (or the same one and an error)
//
// Vocabulary:
//   - template: a named, versioned golden path — parameters (a JSON Schema),
//     resources with drivers, classes and dependencies, and a lifecycle.
//     A published name@version never changes (ErrVersionConflict).
//   - resolve: defaults applied, parameters validated, ${params.<name>}
//     substituted; resources in dependency order.
//   - environment: one team's instance of a template version, with a
//     revision per set of parameters it was asked to run with.
//   - lease: an ephemeral environment expires at created + ttl; it turns
//     expiring WarningLead(ttl) before, and Extend, Keep or activity (if
//     the template renews on activity) move the expiry.
//   - admission: a create queues (state queued) in a scheduler pool until
//     the scheduler admits it; meanwhile the environment's reason says why
//     it waits and where it is in the queue.
//   - field errors: every refusal names its field: resources[1].depends_on,
//     parameters.size, ttl.
package domain
