package events

// CloudEvents extensions the gateway stamps on every event it takes from
// outside Pave (POST /v1/events, pave.ingress.>, webhooks). Extension
// names are lowercase letters and digits (CloudEvents 1.0).
const (
	// ExtPrincipal is the authenticated sender: a user, a service
	// account (team/name) or a webhook's repository.
	ExtPrincipal = "paveprincipal"
	// ExtTeam is the team the event speaks for, checked by the gateway
	// against the sender's rights ("" when it names none).
	ExtTeam = "paveteam"
)
