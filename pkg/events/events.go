// Package events holds the Go types of the data of Pave's CloudEvents.
//
// The schemas in schemas/events are the source of truth; a test proves that
// every type here has the same fields, kinds and required properties as its
// schema. Change the schema first, then the type.
package events

import (
	"maps"
	"time"
)

// CloudEvent types, named after the schema files in schemas/events.
const (
	TypeServiceStarted      = "dev.pave.platform.service.started.v1"
	TypeServiceStopped      = "dev.pave.platform.service.stopped.v1"
	TypeMessageDeadLettered = "dev.pave.platform.message.deadlettered.v1"
	TypeStreamFilling       = "dev.pave.platform.stream.filling.v1"
	TypeStreamCleared       = "dev.pave.platform.stream.cleared.v1"
)

// Types maps every CloudEvent type to the zero value of its data type.
// Each area keeps its types in a file of its own.
func Types() map[string]any {
	out := map[string]any{}
	for _, set := range []map[string]any{platformTypes(), provisioningTypes(), lifecycleTypes(), environmentTypes(), schedulerTypes(), runnerTypes(), costTypes(), accessTypes(), credentialsTypes(), gatewayTypes(), promotionTypes(), incidentTypes(), notifyTypes()} {
		maps.Copy(out, set)
	}
	return out
}

func platformTypes() map[string]any {
	return map[string]any{
		TypeServiceStarted:      ServiceStarted{},
		TypeServiceStopped:      ServiceStopped{},
		TypeMessageDeadLettered: MessageDeadLettered{},
		TypeStreamFilling:       StreamFill{},
		TypeStreamCleared:       StreamFill{},
	}
}

// StreamFill is the data of TypeStreamFilling and TypeStreamCleared: a
// stream (or KV bucket) crossed the warn ratio of its limit, upwards or
// back down.
type StreamFill struct {
	Stream    string  `json:"stream"`
	FillRatio float64 `json:"fill_ratio"`
	WarnRatio float64 `json:"warn_ratio"`
	Bytes     uint64  `json:"bytes"`
	// MaxBytes is 0 when only MaxMessages bounds the stream.
	MaxBytes    int64     `json:"max_bytes"`
	Messages    uint64    `json:"messages"`
	MaxMessages int64     `json:"max_messages,omitempty"`
	ObservedAt  time.Time `json:"observed_at"`
}

// ServiceStarted is the data of TypeServiceStarted: a service instance is
// ready to do work.
type ServiceStarted struct {
	// Service is one of gateway, lifecycle, provisioning, access, cost, scheduler.
	Service string `json:"service"`
	// Instance tells the replicas of a service apart; never empty.
	Instance  string    `json:"instance"`
	Version   string    `json:"version"`
	StartedAt time.Time `json:"started_at"`
}

// ServiceStopped is the data of TypeServiceStopped: a service instance
// drained its work and shut down cleanly.
type ServiceStopped struct {
	Service       string    `json:"service"`
	Instance      string    `json:"instance"`
	StoppedAt     time.Time `json:"stopped_at"`
	UptimeSeconds float64   `json:"uptime_seconds"`
}

// MessageDeadLettered is the data of TypeMessageDeadLettered: the bus gave
// up on a message and copied it to the DLQ stream.
type MessageDeadLettered struct {
	Stream         string `json:"stream"`
	Consumer       string `json:"consumer"`
	Subject        string `json:"subject"`
	StreamSequence uint64 `json:"stream_sequence"`
	Deliveries     uint64 `json:"deliveries"`
	Reason         string `json:"reason"`
	// EventID and EventType are empty when the message was not a valid
	// CloudEvent; they are set together.
	EventID        string    `json:"event_id,omitempty"`
	EventType      string    `json:"event_type,omitempty"`
	DeadLetteredAt time.Time `json:"dead_lettered_at"`
}
