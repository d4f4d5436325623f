package events_test

import "github.com/pave-platform/pave/pkg/events"

// notifySamples join samples in allSamples.
var notifySamples = map[string]any{
	events.TypeNotifyDeliver: events.NotifyDeliver{Subscription: "demo.abc", Key: "demo.abc.k1", Seq: 3, Replay: "r1",
		Event: []byte(`{"specversion":"1.0","id":"e-1"}`)},
	events.TypeSubscriptionDisabled: events.SubscriptionDisabled{Subscription: "demo.abc", Team: "demo", Owner: "ana",
		Host: "hooks.example.com", Reason: "503 for 72h", FailingSince: at, DisabledAt: at},
}
