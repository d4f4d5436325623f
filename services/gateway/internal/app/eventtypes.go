// Package app holds the gateway's queries and commands.
package app

import (
	"encoding/json"

	"github.com/pave-platform/pave/pkg/schema"
)

// TypeLister knows the registered event types.
type TypeLister interface {
	Types() []schema.TypeInfo
}

// EventType is one entry of GET /v1/events/types.
type EventType struct {
	Type    string          `json:"type"`
	Subject string          `json:"subject"`
	Schema  json.RawMessage `json:"schema"`
}

// ListEventTypes answers which event types Pave knows, with their schemas.
func ListEventTypes(l TypeLister) []EventType {
	infos := l.Types()
	out := make([]EventType, 0, len(infos))
	for _, ti := range infos {
		out = append(out, EventType{Type: ti.Type, Subject: ti.Subject, Schema: ti.Schema})
	}
	return out
}
