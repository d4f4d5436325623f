// Package domain is the pure core of outbound notifications: what a
// subscription is and which events it matches, how a delivery is signed
// (Standard Webhooks) and rendered (CloudEvents binary or structured,
// Slack, Microsoft Teams), and when a failed delivery is tried again.
//
//	event ─ Attrs ─ Subscription.Matches ─▶ delivery ─ Render(format) ─ Sign(secrets) ─▶ HTTP
//	failed attempt ─ Schedule.Next(attempts, first) ─▶ retry at … | dead after MaxAge
//
// Vocabulary: a subscription's scope is its team, or the platform for a
// subscription an admin made without one; an ordering key is a
// subscription and an event subject, whose deliveries go out one after
// the other in the order the events were stored.
package domain
