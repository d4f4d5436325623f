package notify

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/pave-platform/pave/pkg/bus"
	"github.com/pave-platform/pave/pkg/events"
)

var life = []string{"queued", "provisioning", "ready", "updating", "ready", "expiring", "decommissioning", "deleted"}

// publishLife publishes an environment's whole life and returns the
// event ids in order.
func publishLife(r *rig, team, env string) []string {
	var ids []string
	from := ""
	for i, to := range life {
		ids = append(ids, r.transition(team, env, i+1, from, to))
		from = to
	}
	return ids
}

func waitReceived(t *testing.T, rc *receiver, n int) {
	t.Helper()
	require.Eventually(t, func() bool { return rc.received() >= n }, 60*time.Second, 50*time.Millisecond,
		"the receiver verified %d of %d events (signature failures: %v)", rc.received(), n, rc.invalid())
}

// A team's subscription gets an environment's whole life, in order, as
// structured CloudEvents that the Standard Webhooks reference library
// verifies; another team's environment never reaches it.
func TestSubscriptionReceivesAnEnvironmentsLifeSignedAndInOrder(t *testing.T) {
	r := newRig(t, testConfig())
	rc := newReceiver(t)
	_, secret := r.subscribe("ana", map[string]any{"team": "alpha", "url": rc.url(), "types": []string{"dev.pave.lifecycle.*"}})
	rc.setSecret(secret)
	bin := newReceiver(t)
	_, binSecret := r.subscribe("ana", map[string]any{"team": "alpha", "url": bin.url(), "format": "cloudevents-binary"})
	bin.setSecret(binSecret)

	publishLife(r, "beta", "env-b1")
	want := publishLife(r, "alpha", "env-a1")

	waitReceived(t, rc, len(want))
	waitReceived(t, bin, len(want))
	assert.Equal(t, want, rc.subjectOrder("env-a1"), "structured: the whole life, in order")
	assert.Equal(t, want, bin.subjectOrder("env-a1"), "binary: the whole life, in order")
	assert.Empty(t, rc.subjectOrder("env-b1"), "another team's environment is not delivered")
	assert.Empty(t, rc.invalid())

	var ce map[string]any
	require.NoError(t, json.Unmarshal(rc.bodies[want[2]], &ce))
	assert.Equal(t, "1.0", ce["specversion"])
	assert.Equal(t, events.TypeEnvironmentTransitioned, ce["type"])
	assert.Equal(t, "ready", ce["data"].(map[string]any)["to"])
	var data map[string]any
	require.NoError(t, json.Unmarshal(bin.bodies[want[2]], &data), "binary mode: the body is the data")
	assert.Equal(t, "ready", data["to"])
}

// The receiver refuses connections for a while, then answers 503, then
// recovers: every event arrives, each subject in order, and the
// deliveries show the failed attempts.
func TestReceiverDownThenUpLosesNothingAndKeepsOrder(t *testing.T) {
	r := newRig(t, testConfig())
	rc := newReceiver(t)
	id, secret := r.subscribe("ana", map[string]any{"team": "alpha", "url": rc.url()})
	rc.setSecret(secret)
	rc.down()

	var want [][]string
	for i := range 3 {
		want = append(want, publishLife(r, "alpha", fmt.Sprintf("env-%d", i)))
	}
	require.Eventually(t, func() bool { return failedAttempts(r, id) >= 3 }, 30*time.Second, 50*time.Millisecond,
		"no refused attempt was recorded")
	rc.setFail(true)
	rc.up()
	require.Eventually(t, func() bool { rc.mu.Lock(); defer rc.mu.Unlock(); return rc.hits > 0 }, 30*time.Second, 50*time.Millisecond,
		"no attempt reached the failing receiver")
	assert.Zero(t, rc.received(), "nothing is taken while the receiver answers 503")
	rc.setFail(false)

	waitReceived(t, rc, 3*len(life))
	for i, ids := range want {
		assert.Equal(t, ids, rc.subjectOrder(fmt.Sprintf("env-%d", i)), "env-%d in order", i)
	}
	status, out := r.call("ana", http.MethodGet, "/v1/subscriptions/"+id+"/deliveries?limit=1000", nil)
	require.Equal(t, http.StatusOK, status)
	items := out["items"].([]any)
	require.Len(t, items, 3*len(life))
	retried := 0
	for _, it := range items {
		d := it.(map[string]any)
		assert.Equal(t, DeliveryDelivered, d["state"])
		if d["attempt_count"].(float64) > 1 {
			retried++
		}
	}
	assert.Positive(t, retried, "some deliveries needed more than one attempt")
}

func failedAttempts(r *rig, sub string) int {
	es, err := r.svc.Stores.Deliveries.List(context.Background(), sub+".*")
	if err != nil {
		return 0
	}
	n := 0
	for _, e := range es {
		for _, a := range e.Value.Attempts {
			if a.Error != "" {
				n++
			}
		}
	}
	return n
}

// The deliverer's connection dies without draining (as in a crash) and
// NATS restarts while events are being delivered; a new deliverer picks
// up where the state in JetStream says: nothing is lost, order holds
// across the crash.
func TestNothingLostAcrossADelivererCrashAndANATSRestart(t *testing.T) {
	r := newRig(t, testConfig())
	rc := newReceiver(t)
	_, secret := r.subscribe("ana", map[string]any{"team": "alpha", "url": rc.url()})
	rc.setSecret(secret)

	var want [][]string
	for i := range 4 {
		want = append(want, publishLife(r, "alpha", fmt.Sprintf("env-%d", i)))
	}
	// Crash: the connection closes under the running consumers.
	r.nc.Close()
	r.stop()
	r.nats.Restart(t)
	r.connect()
	for i := 4; i < 6; i++ {
		want = append(want, publishLife(r, "alpha", fmt.Sprintf("env-%d", i)))
	}
	r.start()

	waitReceived(t, rc, 6*len(life))
	for i, ids := range want {
		// Every event arrives once, in order: what the dead fan-out had
		// taken is fanned out first on start (Fanout.Recover).
		assert.Equal(t, ids, rc.subjectOrder(fmt.Sprintf("env-%d", i)), "env-%d: every event once, in order", i)
	}
	assert.Empty(t, rc.invalid())
}

// A delivery that fails for longer than RetryFor is dead-lettered with
// its reason, and the next one of its subject is not held up by it.
func TestDeliveryIsDeadLetteredAfterRetryForAndTheChainMovesOn(t *testing.T) {
	cfg := testConfig()
	cfg.RetryFor = 1500 * time.Millisecond
	r := newRig(t, cfg)
	rc := newReceiver(t)
	id, secret := r.subscribe("ana", map[string]any{"team": "alpha", "url": rc.url()})
	rc.setSecret(secret)
	rc.setFail(true)
	first := r.transition("alpha", "env-d", 1, "", "queued")

	var dead Delivery
	require.Eventually(t, func() bool {
		d, _, err := r.svc.Stores.Deliveries.Get(context.Background(), deliveryKey(id, first, ""))
		dead = d
		return err == nil && d.State == DeliveryDead
	}, 30*time.Second, 50*time.Millisecond, "the delivery was not dead-lettered")
	assert.Contains(t, dead.Reason, "answered 503")
	assert.Contains(t, dead.Reason, "gave up after")

	st, err := r.bus.JetStream().Stream(context.Background(), bus.StreamDLQ)
	require.NoError(t, err)
	require.Eventually(t, func() bool {
		info, err := st.Info(context.Background())
		return err == nil && info.State.Msgs >= 1
	}, 30*time.Second, 50*time.Millisecond, "no dead letter in DLQ")
	msg, err := st.GetLastMsgForSubject(context.Background(), "pave.dlq.CMD_GATEWAY.gateway-notify-deliver")
	require.NoError(t, err)
	assert.Contains(t, msg.Header.Get("Pave-Dlq-Reason"), "answered 503")

	rc.setFail(false)
	second := r.transition("alpha", "env-d", 2, "queued", "provisioning")
	waitReceived(t, rc, 1)
	assert.Equal(t, []string{second}, rc.subjectOrder("env-d"))
}

// A subscription that keeps failing for DisableAfter is disabled, and
// its owner gets a notice: an alert of kind subscription.
func TestFailingSubscriptionIsDisabledWithANotice(t *testing.T) {
	cfg := testConfig()
	cfg.DisableAfter = time.Second
	r := newRig(t, cfg)
	rc := newReceiver(t)
	id, secret := r.subscribe("ana", map[string]any{"team": "alpha", "url": rc.url()})
	rc.setSecret(secret)
	rc.setFail(true)
	first := r.transition("alpha", "env-x", 1, "", "queued")

	require.Eventually(t, func() bool {
		_, out := r.call("ana", http.MethodGet, "/v1/subscriptions/"+id, nil)
		return out["state"] == "disabled"
	}, 30*time.Second, 50*time.Millisecond, "the subscription was not disabled")
	var alert map[string]any
	require.Eventually(t, func() bool {
		_, out := r.call("ana", http.MethodGet, "/v1/alerts?team=alpha", nil)
		for _, it := range out["items"].([]any) {
			if a := it.(map[string]any); a["kind"] == "subscription" {
				alert = a
				return true
			}
		}
		return false
	}, 30*time.Second, 50*time.Millisecond, "no subscription alert for the owner")
	assert.Contains(t, alert["summary"], id)
	assert.Equal(t, "open", alert["state"])

	// Enabled again, it delivers new events.
	rc.setFail(false)
	status, out := r.call("ana", http.MethodPost, "/v1/subscriptions/"+id+"/enable", nil)
	require.Equal(t, http.StatusOK, status, "%v", out)
	assert.Equal(t, "active", out["state"])
	assert.Nil(t, out["failing_since"])
	later := r.transition("alpha", "env-x", 2, "queued", "provisioning")
	require.Eventually(t, func() bool {
		got := rc.subjectOrder("env-x")
		return len(got) > 0 && got[len(got)-1] == later
	}, 30*time.Second, 50*time.Millisecond, "nothing delivered after enabling: %v", rc.subjectOrder("env-x"))
	// The first is skipped if the deliverer looked at it while the
	// subscription was off, and delivered (first, in order) otherwise.
	assert.Contains(t, [][]string{{later}, {first, later}}, rc.subjectOrder("env-x"))
}

// Replay re-sends from an event it was sent: the receiver sees the same
// webhook-ids again (its idempotency key), in order.
func TestReplayResendsFromAnEvent(t *testing.T) {
	r := newRig(t, testConfig())
	rc := newReceiver(t)
	id, secret := r.subscribe("ana", map[string]any{"team": "alpha", "url": rc.url()})
	rc.setSecret(secret)
	ids := publishLife(r, "alpha", "env-r")
	waitReceived(t, rc, len(ids))

	status, out := r.call("ana", http.MethodPost, "/v1/subscriptions/"+id+"/replay", map[string]any{"from_event_id": ids[5]})
	require.Equal(t, http.StatusAccepted, status, "%v", out)
	assert.EqualValues(t, 3, out["queued"])
	require.Eventually(t, func() bool {
		rc.mu.Lock()
		defer rc.mu.Unlock()
		return rc.seen[ids[5]] == 2 && rc.seen[ids[6]] == 2 && rc.seen[ids[7]] == 2
	}, 30*time.Second, 50*time.Millisecond, "the replay did not arrive")
	rc.mu.Lock()
	assert.Equal(t, 1, rc.seen[ids[4]], "events before the replay's start are not re-sent")
	rc.mu.Unlock()

	status, out = r.call("ana", http.MethodPost, "/v1/subscriptions/"+id+"/replay", map[string]any{"from_event_id": "nope"})
	assert.Equal(t, http.StatusUnprocessableEntity, status)
	assert.Equal(t, "from_event_id", fieldOf(out))
	status, out = r.call("ana", http.MethodPost, "/v1/subscriptions/"+id+"/replay", map[string]any{})
	assert.Equal(t, http.StatusUnprocessableEntity, status)
	assert.Equal(t, "from_time", fieldOf(out))
}

func fieldOf(problem map[string]any) string {
	errs, _ := problem["errors"].([]any)
	if len(errs) == 0 {
		return ""
	}
	f, _ := errs[0].(map[string]any)["field"].(string)
	return f
}
