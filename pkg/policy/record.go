package policy

import "github.com/pave-platform/pave/pkg/audit"

// AuditRecord is the ledger entry of a decision.
func AuditRecord(r Request, d Decision, route string) audit.Record {
	verdict := "deny"
	if d.Allowed {
		verdict = "allow"
	}
	return audit.Record{Kind: audit.KindDecision, Actor: r.Principal.ID, ActorKind: r.Principal.Kind,
		Team: r.Resource.Team, Action: r.Action, Resource: string(r.Resource.Type) + "::" + r.Resource.ID,
		Decision: verdict, Policies: d.Policies, Route: route}
}
