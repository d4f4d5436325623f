package events_test

import "github.com/pave-platform/pave/pkg/events"

// incidentSamples join samples in allSamples.
var incidentSamples = map[string]any{
	events.TypeIncidentOpened: events.Incident{IncidentID: "PT4KHLK", Provider: "pagerduty", Team: "payments",
		Application: "shop", Stage: "prod", Title: "checkout errors", At: at},
	events.TypeIncidentResolved: events.Incident{IncidentID: "PT4KHLK", Provider: "opsgenie", Team: "payments",
		Application: "shop", Stage: "prod", Title: "checkout errors", At: at},
}
