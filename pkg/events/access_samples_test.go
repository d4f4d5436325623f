package events_test

import "github.com/pave-platform/pave/pkg/events"

var grantScope = events.GrantScope{Kind: events.GrantScopeEnvironment, EnvironmentID: "env-abcdefghijkl", Stage: "prod"}

// accessSamples join samples in allSamples.
var accessSamples = map[string]any{
	events.TypeGrantActivated: events.GrantActivated{GrantID: "grt-1", Principal: "alice", Team: "payments", Role: "maintainer",
		Scope: grantScope, StartsAt: at, ExpiresAt: at.Add(3600e9), RequestID: "req-1", BreakGlass: true},
	events.TypeGrantRevoked: events.GrantRevoked{GrantID: "grt-1", Principal: "alice", Team: "payments", Role: "maintainer",
		Scope: grantScope, Reason: events.GrantRevokedRevoked, RevokedAt: at, By: "bob"},
	events.TypeBreakGlassActivated: events.BreakGlassActivated{GrantID: "grt-1", Principal: "alice", Team: "payments",
		Role: "maintainer", Scope: grantScope, IncidentID: "INC-1", Reason: "database down", Severity: events.BreakGlassSeverityHigh,
		StartsAt: at, ExpiresAt: at.Add(3600e9)},
	events.TypeTeardownApproved: events.TeardownApproved{GrantID: "grt-2", Principal: "alice", Team: "payments",
		Scope: grantScope, StartsAt: at, ExpiresAt: at.Add(3600e9), RequestID: "req-2", ApprovedBy: []string{"bob"}},
	events.TypeTeardownEnded: events.TeardownEnded{GrantID: "grt-2", Principal: "alice", Team: "payments",
		Scope: grantScope, Reason: events.GrantRevokedRevoked, EndedAt: at, By: "carol"},
}
