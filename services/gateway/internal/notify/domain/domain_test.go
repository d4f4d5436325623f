package domain

import (
	"encoding/json"
	"net/http"
	"testing"
	"time"

	standardwebhooks "github.com/standard-webhooks/standard-webhooks/libraries/go"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/cloudevents/sdk-go/v2/event"
)

func ev(t *testing.T, typ string, data map[string]any) event.Event {
	t.Helper()
	e := event.New()
	e.SetID("e-1")
	e.SetSource("pave/test")
	e.SetType(typ)
	e.SetSubject("s-1")
	require.NoError(t, e.SetData("application/json", data))
	return e
}

// Chat messages say what happened in words, for every kind of event a
// person is told about.
func TestChatMessagesAreReadable(t *testing.T) {
	tests := []struct {
		typ  string
		data map[string]any
		want string
	}{
		{"dev.pave.lifecycle.environment.transitioned.v1", map[string]any{"name": "checkout", "team": "pay", "to": "ready"},
			"Environment checkout of team pay is ready."},
		{"dev.pave.lifecycle.environment.transitioned.v1", map[string]any{"name": "checkout", "team": "pay", "to": "failed", "reason": "db quota"},
			"Environment checkout of team pay failed: db quota"},
		{"dev.pave.lifecycle.environment.transitioned.v1", map[string]any{"name": "pr-7", "team": "pay", "to": "expiring", "expires_at": "2026-01-02T03:00:00Z"},
			"Environment pr-7 of team pay expires at 2026-01-02T03:00:00Z; extend it to keep it."},
		{"dev.pave.cost.budget.crossed.v1", map[string]any{"team": "pay", "threshold_percent": 80, "period": "monthly", "spent": "81.00", "amount": "100", "currency": "EUR", "forecast": "120"},
			"Budget crossed: team pay reached 80% of its monthly budget (spent 81.00 of 100 EUR, forecast 120)."},
		{"dev.pave.cost.spend.spiked.v1", map[string]any{"team": "pay", "last_hour": "9.00", "currency": "EUR", "baseline": "1.00"},
			"Spend spike: team pay spent 9.00 EUR in the last hour against a baseline of 1.00 an hour."},
		{"dev.pave.access.breakglass.activated.v1", map[string]any{"principal": "ana", "role": "admin", "team": "pay", "incident_id": "INC-1", "expires_at": "T", "reason": "outage"},
			"Break-glass: ana took admin on team pay for incident INC-1 until T. Reason: outage"},
		{"dev.pave.lifecycle.promotion.promoted.v1", map[string]any{"promotion_id": "p1", "application": "shop", "from_stage": "staging", "to_stage": "production", "commit": "0123456789abcdef", "state": "promoted"},
			"Promotion p1 of shop from staging to production (commit 0123456789ab): promoted."},
		{"dev.pave.lifecycle.promotion.waiting.v1", map[string]any{"promotion_id": "p1", "application": "shop", "to_stage": "production", "commit": "abc", "by": "ana", "team": "pay"},
			"Approval requested: promotion p1 of shop to production (commit abc, by ana) waits for the approvers of team pay."},
		{"dev.pave.provisioning.credential.drifted.v1", map[string]any{"kind": "extra", "name": "rogue", "resource_id": "env-1-db", "environment_id": "env-1", "driver": "postgres", "remediated": false},
			"Drift found: extra login rogue on env-1-db (environment env-1, postgres driver); remediated: false."},
	}
	for _, tt := range tests {
		e := ev(t, tt.typ, tt.data)
		assert.Equal(t, tt.want, Describe(e), tt.typ)
		r, err := Render(FormatSlack, e)
		require.NoError(t, err)
		var slack map[string]string
		require.NoError(t, json.Unmarshal(r.Body, &slack))
		assert.Equal(t, tt.want, slack["text"])
		r, err = Render(FormatTeams, e)
		require.NoError(t, err)
		assert.Contains(t, string(r.Body), `"contentType":"application/vnd.microsoft.card.adaptive"`)
		assert.Contains(t, string(r.Body), jsonString(tt.want))
	}
}

func jsonString(s string) string { raw, _ := json.Marshal(s); return string(raw[1 : len(raw)-1]) }

// Pave's signature verifies with the Standard Webhooks reference
// library, with either secret of a rotation.
func TestSignatureVerifiesWithTheReferenceLibrary(t *testing.T) {
	a, err := NewSecret()
	require.NoError(t, err)
	b, err := NewSecret()
	require.NoError(t, err)
	body := []byte(`{"hello":"world"}`)
	now := time.Now()
	sig, err := Sign([]string{a, b}, "msg_1", now, body)
	require.NoError(t, err)
	h := http.Header{}
	h.Set(HeaderID, "msg_1")
	h.Set(HeaderTimestamp, itoa(now.Unix()))
	h.Set(HeaderSignature, sig)
	for _, s := range []string{a, b} {
		wh, err := standardwebhooks.NewWebhook(s)
		require.NoError(t, err)
		assert.NoError(t, wh.Verify(body, h))
	}
	other, _ := NewSecret()
	wh, _ := standardwebhooks.NewWebhook(other)
	assert.Error(t, wh.Verify(body, h), "another secret does not verify")
	assert.Error(t, mustHook(t, a).Verify([]byte(`{"hello":"there"}`), h), "another body does not verify")
}

func mustHook(t *testing.T, s string) *standardwebhooks.Webhook {
	wh, err := standardwebhooks.NewWebhook(s)
	require.NoError(t, err)
	return wh
}

func itoa(n int64) string { raw, _ := json.Marshal(n); return string(raw) }

// Retries back off exponentially up to Max and stop at MaxAge.
func TestScheduleBacksOffAndEnds(t *testing.T) {
	s := Schedule{Base: time.Second, Max: 8 * time.Second, MaxAge: time.Minute}
	first := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	tests := []struct {
		attempts int
		now      time.Time
		want     time.Duration
	}{{1, first, time.Second}, {2, first, 2 * time.Second}, {3, first, 4 * time.Second}, {9, first, 8 * time.Second},
		{9, first.Add(55 * time.Second), 5 * time.Second}}
	for _, tt := range tests {
		next, ok := s.Next(tt.attempts, first, tt.now)
		require.True(t, ok)
		assert.Equal(t, tt.want, next.Sub(tt.now), "after %d attempts", tt.attempts)
	}
	_, ok := s.Next(20, first, first.Add(time.Minute))
	assert.False(t, ok, "dead after MaxAge")
}

// A team's subscription matches its team's events by type, environment
// (id or name), stage and application globs.
func TestMatches(t *testing.T) {
	s := Subscription{Team: "pay", State: StateActive, Types: []string{"dev.pave.lifecycle.*"}, Environments: []string{"pr-*"}}
	tests := []struct {
		give Attrs
		want bool
	}{
		{Attrs{Team: "pay", Type: "dev.pave.lifecycle.environment.transitioned.v1", Name: "pr-7"}, true},
		{Attrs{Team: "pay", Type: "dev.pave.lifecycle.environment.transitioned.v1", Environment: "pr-9"}, true},
		{Attrs{Team: "ops", Type: "dev.pave.lifecycle.environment.transitioned.v1", Name: "pr-7"}, false},
		{Attrs{Team: "pay", Type: "dev.pave.cost.budget.crossed.v1", Name: "pr-7"}, false},
		{Attrs{Team: "pay", Type: "dev.pave.lifecycle.environment.transitioned.v1", Name: "main"}, false},
	}
	for _, tt := range tests {
		assert.Equal(t, tt.want, s.Matches(tt.give), "%+v", tt.give)
	}
	s.State = StateDisabled
	assert.False(t, s.Matches(tests[0].give), "a disabled subscription matches nothing")
}
