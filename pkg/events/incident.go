package events

import "time"

// Incidents opened and resolved at another system (an incident tool, or
// anyone allowed to post them to POST /v1/events). The gateway routes
// them from INGRESS to EVT_GATEWAY, where DORA metrics read them.
const (
	TypeIncidentOpened   = "dev.pave.gateway.incident.opened.v1"
	TypeIncidentResolved = "dev.pave.gateway.incident.resolved.v1"
)

func incidentTypes() map[string]any {
	return map[string]any{TypeIncidentOpened: Incident{}, TypeIncidentResolved: Incident{}}
}

// Incident is the data of TypeIncidentOpened and TypeIncidentResolved.
// IncidentID names the incident across its events: a second opened (an
// edit) of the same incident is the same incident.
type Incident struct {
	IncidentID  string    `json:"incident_id"`
	Provider    string    `json:"provider"`
	Team        string    `json:"team"`
	Application string    `json:"application,omitempty"`
	Stage       string    `json:"stage,omitempty"`
	Title       string    `json:"title,omitempty"`
	At          time.Time `json:"at"`
}
