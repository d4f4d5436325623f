package events

import "time"

// TypeEnvironmentTransitioned is published for every transition of an
// environment, on pave.evt.lifecycle.environment.transitioned.
const TypeEnvironmentTransitioned = "dev.pave.lifecycle.environment.transitioned.v1"

func environmentTypes() map[string]any {
	return map[string]any{TypeEnvironmentTransitioned: EnvironmentTransitioned{}}
}

// EnvironmentTransitioned is the data of TypeEnvironmentTransitioned.
type EnvironmentTransitioned struct {
	EnvironmentID string `json:"environment_id"`
	Team          string `json:"team"`
	Name          string `json:"name"`
	Template      string `json:"template"`
	Version       string `json:"version"`
	Stage         string `json:"stage"`
	// From is empty for a new environment.
	From        string    `json:"from"`
	To          string    `json:"to"`
	Reason      string    `json:"reason,omitempty"`
	OperationID string    `json:"operation_id,omitempty"`
	Revision    int       `json:"revision"`
	ExpiresAt   time.Time `json:"expires_at,omitzero"`
	Seq         int       `json:"seq"`
	At          time.Time `json:"at"`
}
