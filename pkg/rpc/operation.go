package rpc

import "time"

// Operation is an environment operation (a saga) as the API shows it:
// the 202 answer of create, update and delete (lifecycle), and
// GET /v1/operations/{id} (the gateway, from the saga's progress).
type Operation struct {
	ID            string          `json:"id"`
	Kind          string          `json:"kind"`
	EnvironmentID string          `json:"environment_id"`
	Team          string          `json:"team"`
	State         string          `json:"state"`
	Steps         []OperationStep `json:"steps"`
	StartedAt     time.Time       `json:"started_at"`
	EndedAt       *time.Time      `json:"ended_at,omitempty"`
	Error         string          `json:"error,omitempty"`
}

// OperationStep is one step of an operation.
type OperationStep struct {
	Name     string `json:"name"`
	Status   string `json:"status"`
	Attempts int    `json:"attempts"`
	Error    string `json:"error,omitempty"`
}
