// Package automate is the gateway's part for events that do things:
// team-registered custom event types and automations.
//
//	POST /v1/events/types ─ name in the team's namespace, schema compiles ─ GATEWAY_EVENT_TYPES
//	POST /v1/events ─ ingress (Registry: Pave's types + the custom ones) ─ INGRESS
//	INGRESS ─ Runner (durable gateway-automations) ─ stamped? rule matches? ─ claim run (automation+event) ─┐
//	     ┌───────────────────────────────────────────────────────────────────────────────────────────┘
//	     └ Actor: the public API's chain (rate limit, capacity, Cedar, audit) as the rule's service account ─ run recorded
//
// Vocabulary: a custom type is pave.custom.<team>.<name>….v<N>; an
// automation (rule) belongs to a team, matches events the gateway bound
// to that team (type glob, source glob, data equalities) and does one
// action as one of the team's service accounts; a run is one automation
// on one event, recorded once under the key automation id + event, so a
// redelivered or resent event never runs it twice.
package automate
