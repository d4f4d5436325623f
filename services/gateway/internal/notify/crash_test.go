package notify

import (
	"fmt"
	"testing"

	"github.com/stretchr/testify/assert"
)

// The gateway's notify (fan-out and deliverer) dies mid-stream — its
// NATS connection closes under lanes that are numbering, sending and
// recording — with a backlog handed out to it and not acknowledged. A new
// one starts on the same JetStream state while events keep coming. The
// receiver (a real HTTP server, verifying with the reference library)
// gets every event, each subject's in the order published, and nothing
// that a receiver deduplicating on webhook-id would take twice or miss:
// a delivery in flight at the crash may come again, always with its
// webhook-id and body unchanged.
func TestDelivererCrashMidStreamDeliversAllInOrderOncePerWebhookID(t *testing.T) {
	cfg := testConfig()
	r := newRig(t, cfg)
	rc := newReceiver(t)
	_, secret := r.subscribe("ana", map[string]any{"team": "alpha", "url": rc.url()})
	rc.setSecret(secret)

	const subjects, before, after = 12, 40, 10
	want := map[string][]string{}
	publish := func(from, to int) {
		for i := from; i < to; i++ {
			for s := range subjects {
				env := fmt.Sprintf("env-%d", s)
				want[env] = append(want[env], r.transition("alpha", env, i+1, "ready", "updating"))
			}
		}
	}
	publish(0, before)
	waitReceived(t, rc, subjects*before/8) // mid-stream: a backlog is still handed out

	r.nc.Close() // the crash: no drain, no acks, records cut off
	r.stop()
	r.connect()
	publish(before, before+after)
	r.start()

	waitReceived(t, rc, subjects*(before+after))
	for env, ids := range want {
		assert.Equal(t, ids, rc.subjectOrder(env), "%s: every event once, in the order published", env)
	}
	rc.mu.Lock()
	defer rc.mu.Unlock()
	assert.Len(t, rc.seen, subjects*(before+after), "distinct webhook-ids")
	assert.Empty(t, rc.changed, "sent again with another body under the same webhook-id")
	again := 0
	for _, n := range rc.seen {
		again += n - 1
	}
	assert.LessOrEqual(t, again, cfg.Workers, "only deliveries in flight at the crash come again")
	assert.Empty(t, rc.bad)
	t.Logf("sent again (same webhook-id, deduplicated by the receiver): %d", again)
}
