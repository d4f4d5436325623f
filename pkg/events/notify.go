package events

import "time"

// The gateway's outbound notifications (services/gateway/internal/notify):
// one delivery command per event and matching subscription, on
// CMD_GATEWAY, and the notice that a subscription was disabled, on
// EVT_GATEWAY.
const (
	TypeNotifyDeliver          = "dev.pave.cmd.gateway.notify-deliver.v1"
	TypeSubscriptionDisabled   = "dev.pave.gateway.subscription.disabled.v1"
	SubjectNotifyDeliver       = "pave.cmd.gateway.notify-deliver"
	SubjectSubscriptionDisable = "pave.evt.gateway.subscription.disabled"
)

// NotifyDeliver is the data of TypeNotifyDeliver: deliver Event to one
// subscription as the Seq-th delivery of its ordering key.
type NotifyDeliver struct {
	Subscription string `json:"subscription"`
	// Key names the ordering chain (subscription and event subject).
	Key string `json:"key"`
	Seq uint64 `json:"seq"`
	// Replay is the replay request this delivery belongs to, if any.
	Replay string `json:"replay,omitempty"`
	// Event is the CloudEvent in structured JSON form (base64 in JSON).
	Event []byte `json:"event"`
}

// SubscriptionDisabled is the data of TypeSubscriptionDisabled: a
// subscription that failed for too long was disabled.
type SubscriptionDisabled struct {
	Subscription string    `json:"subscription"`
	Team         string    `json:"team,omitempty"`
	Owner        string    `json:"owner"`
	Host         string    `json:"host"`
	Reason       string    `json:"reason"`
	FailingSince time.Time `json:"failing_since"`
	DisabledAt   time.Time `json:"disabled_at"`
}

func notifyTypes() map[string]any {
	return map[string]any{
		TypeNotifyDeliver:        NotifyDeliver{},
		TypeSubscriptionDisabled: SubscriptionDisabled{},
	}
}
