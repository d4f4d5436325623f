package main

import (
	"context"
	"encoding/json"
	"net/http"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/pave-platform/pave/pkg/events"
)

// A preview's lease starts when it is requested, so a 3s TTL leaves the
// platform time to provision it and the test time to watch it expire.
const shortTTL = 3 * time.Second

func (p *platform) createPreview(name, ttl string) string {
	p.t.Helper()
	return p.create(map[string]any{"team": "payments", "name": name, "template": "preview", "stage": "preview", "ttl": ttl})
}

func (p *platform) extend(id string, body any) (int, map[string]any) {
	p.t.Helper()
	return p.do(http.MethodPost, "/v1/environments/"+id+"/extend", body)
}

func (p *platform) state(id string) string {
	p.t.Helper()
	_, env := p.do(http.MethodGet, "/v1/environments/"+id, nil)
	s, _ := env["state"].(string)
	return s
}

// transitions lists, as "from→to", the transition events published to
// EVT_LIFECYCLE for one environment, in the order they were published.
func (p *platform) transitions(id string) []string {
	p.t.Helper()
	ctx := context.Background()
	cons, err := p.js.OrderedConsumer(ctx, "EVT_LIFECYCLE", jetstream.OrderedConsumerConfig{
		FilterSubjects: []string{"pave.evt.lifecycle.environment.transitioned"},
	})
	require.NoError(p.t, err)
	batch, err := cons.FetchNoWait(1000)
	require.NoError(p.t, err)
	var out []string
	for msg := range batch.Messages() {
		assert.Equal(p.t, events.TypeEnvironmentTransitioned, msg.Headers().Get("ce-type"))
		var ev events.EnvironmentTransitioned
		require.NoError(p.t, json.Unmarshal(msg.Data(), &ev))
		if ev.EnvironmentID == id {
			out = append(out, ev.From+"→"+ev.To)
		}
	}
	require.NoError(p.t, batch.Error())
	return out
}

// waitTransitions waits until the events published for id are want.
func (p *platform) waitTransitions(id string, want ...string) {
	p.t.Helper()
	var got []string
	require.Eventually(p.t, func() bool {
		got = p.transitions(id)
		return assert.ObjectsAreEqual(want, got)
	}, 10*time.Second, 50*time.Millisecond, "transition events of %s: want %v, got %v", id, want, &got)
}

func timeField(t *testing.T, env map[string]any, field string) time.Time {
	t.Helper()
	s, ok := env[field].(string)
	require.True(t, ok, "%s in %v", field, env)
	at, err := time.Parse(time.RFC3339Nano, s)
	require.NoError(t, err)
	return at
}

// problemField is the field the first error of a problem names, "" if none.
func problemField(out map[string]any) string {
	errs, _ := out["errors"].([]any)
	if len(errs) == 0 {
		return ""
	}
	field, _ := errs[0].(map[string]any)["field"].(string)
	return field
}

func TestShortTTLPreviewWarnsThenExpiresAndIsTornDownByItself(t *testing.T) {
	p := startPlatform(t, "../../deploy/templates", nil)
	id := p.createPreview("pr-1", shortTTL.String())

	// The warning comes at least 5 minutes ahead, so it is due at once.
	env := p.waitState(id, "expiring")
	assert.Equal(t, shortTTL, timeField(t, env, "expires_at").Sub(timeField(t, env, "created_at")))

	env = p.waitState(id, "deleted")
	assert.Equal(t, "expired", env["reason"])
	p.waitTransitions(id, "→requested", "requested→queued", "queued→provisioning", "provisioning→ready",
		"ready→expiring", "expiring→decommissioning", "decommissioning→deleted")
	assert.Equal(t, none(), p.realResources(), "expiry leaves nothing behind")
}

func TestExtendPushesExpiryBackAndTheWarningIsWithdrawn(t *testing.T) {
	p := startPlatform(t, "../../deploy/templates", nil)
	id := p.createPreview("pr-2", shortTTL.String())
	p.waitState(id, "expiring")

	before := time.Now()
	code, env := p.extend(id, map[string]any{"ttl": "1h"})
	require.Equal(t, http.StatusOK, code, "%v", env)
	// The warning is now 54 minutes away: the environment is ready again.
	assert.Equal(t, "ready", env["state"])
	assert.WithinRange(t, timeField(t, env, "expires_at"), before.Add(time.Hour), time.Now().Add(time.Hour))

	assert.Never(t, func() bool { return p.state(id) != "ready" }, shortTTL+time.Second, 100*time.Millisecond,
		"an extended environment outlives its first expiry")
	p.waitTransitions(id, "→requested", "requested→queued", "queued→provisioning", "provisioning→ready",
		"ready→expiring", "expiring→ready")
	assert.Equal(t, map[string]int{"postgres databases": 1, "postgres roles": 1, "redis users": 1, "nats streams": 0},
		p.realResources(), "its resources are still there")
}

func TestKeptPreviewIsNotTornDownUntilKeepIsCleared(t *testing.T) {
	p := startPlatform(t, "../../deploy/templates", nil)
	id := p.createPreview("pr-3", shortTTL.String())
	p.waitState(id, "expiring")

	code, env := p.extend(id, map[string]any{"keep": true})
	require.Equal(t, http.StatusOK, code, "%v", env)
	assert.Equal(t, true, env["keep"])
	assert.Equal(t, "ready", env["state"])
	assert.Never(t, func() bool { return p.state(id) != "ready" }, shortTTL+time.Second, 100*time.Millisecond,
		"a kept environment outlives its TTL")

	// Clearing keep starts a fresh lease of the TTL, which then runs out.
	code, env = p.extend(id, map[string]any{"keep": false})
	require.Equal(t, http.StatusOK, code, "%v", env)
	assert.Nil(t, env["keep"])
	assert.Equal(t, "expired", p.waitState(id, "deleted")["reason"])
	assert.Equal(t, none(), p.realResources())
}

func TestBadExtendIsRefusedAndChangesNothing(t *testing.T) {
	p := startPlatform(t, "../../deploy/templates", nil)
	preview := p.createPreview("pr-4", "")
	cache := p.create(map[string]any{"team": "payments", "name": "cache", "template": "redis-cache", "stage": "dev"})
	want := p.waitState(preview, "ready")
	p.waitState(cache, "ready")

	tests := []struct {
		name  string
		id    string
		body  any
		code  int
		field string
	}{
		{"ttl over max_ttl", preview, map[string]any{"ttl": "48h"}, 422, "ttl"},
		{"ttl bringing expiry forward", preview, map[string]any{"ttl": "1m"}, 422, "ttl"},
		{"ttl not a duration", preview, map[string]any{"ttl": "soon"}, 422, "ttl"},
		{"ttl not positive", preview, map[string]any{"ttl": "-1h"}, 422, "ttl"},
		{"neither ttl nor keep", preview, map[string]any{}, 422, "ttl"},
		{"not JSON", preview, "{", 422, "body"},
		{"ttl on a persistent environment", cache, map[string]any{"ttl": "1h"}, 422, "ttl"},
		{"keep on a persistent environment", cache, map[string]any{"keep": true}, 422, "keep"},
		{"unknown environment", "env-aaaaaaaaaaaa", map[string]any{"ttl": "1h"}, 404, ""},
	}
	for _, tt := range tests {
		code, out := p.extend(tt.id, tt.body)
		assert.Equal(t, tt.code, code, "%s: %v", tt.name, out)
		assert.Equal(t, tt.field, problemField(out), "%s: %v", tt.name, out)
	}

	_, got := p.do(http.MethodGet, "/v1/environments/"+preview, nil)
	assert.Equal(t, want["expires_at"], got["expires_at"], "refused extends leave expiry alone")
	assert.Equal(t, "ready", got["state"])
	_, got = p.do(http.MethodGet, "/v1/environments/"+cache, nil)
	assert.Nil(t, got["expires_at"], "a persistent environment never expires")
}
