// Package ingress takes CloudEvents from other systems: over HTTP
// (POST /v1/events: binary, structured and batch content modes) and over
// NATS (a JetStream publish on pave.ingress.>).
//
//	HTTP ─ parse ─ Check each (attributes, known type, data schema) ─ allowed types ─ store on INGRESS (acked) ─ 202 ids
//	NATS ─ INGRESS ─ bus consumer (decode + schema) ─ Route
//	                      └ invalid ─ DLQ (bus) ─ Rejecter (a dead-letter handler of the bus router) ─ dev.pave.gateway.ingress.rejected.v1
//
// Routing rule: an ingress event whose type is one of the gateway's own
// report types (git.pushed, ci.completed, deployment.recorded) is
// re-published, with the same id, on its subject in EVT_GATEWAY, where
// the promotion pipeline reads it. Every other type stays on INGRESS
// (subject pave.ingress.<type>) for the consumers that want it: no
// system outside Pave can speak for another Pave service.
package ingress
