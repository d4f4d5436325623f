package automate

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/pave-platform/pave/pkg/bus"
	"github.com/pave-platform/pave/pkg/events"
	"github.com/pave-platform/pave/pkg/schema"
	"github.com/pave-platform/pave/pkg/testkit"
)

// A PagerDuty v3 webhook as its documentation shows one (trimmed of the
// references Pave does not read).
const pagerDutyTriggered = `{"event":{"id":"5ac64822-4adc-4fda-ade0-410becf0de4f","event_type":"incident.triggered",
"resource_type":"incident","occurred_at":"2020-10-02T18:45:22.169Z","agent":{"html_url":"https://acme.pagerduty.com/users/PLH1HKV",
"id":"PLH1HKV","self":"https://api.pagerduty.com/users/PLH1HKV","summary":"Tenex Engineer","type":"user_reference"},"client":null,
"data":{"id":"PGR0VU2","type":"incident","self":"https://api.pagerduty.com/incidents/PGR0VU2","html_url":"https://acme.pagerduty.com/incidents/PGR0VU2",
"number":2,"status":"triggered","incident_key":"d3640fbd41094207a1c11e58e46b1662","created_at":"2020-04-09T15:16:27Z",
"title":"A little bump in the road","service":{"html_url":"https://acme.pagerduty.com/services/PF9KMXH","id":"PF9KMXH",
"self":"https://api.pagerduty.com/services/PF9KMXH","summary":"API Service","type":"service_reference"},"urgency":"high"}}}`

const opsgenieClose = `{"action":"Close","alert":{"alertId":"8418d193-2dab-4490-b331-8c02cdd196b7-1517408216123","message":"checkout errors",
"tags":["prod"],"tinyId":"5","entity":"","alias":"checkout","createdAt":1517408216123,"updatedAt":1517408316123000000,
"username":"Alert API","userId":""},"source":{"name":"","type":"API"},"integrationName":"Pave","integrationId":"x","integrationType":"Webhook"}`

func sign(secret, body string) string {
	m := hmac.New(sha256.New, []byte(secret))
	m.Write([]byte(body))
	return "v1=" + hex.EncodeToString(m.Sum(nil))
}

// TestIncidentWebhooksAreVerifiedAndBecomeIncidentEvents: over a real
// socket, a signed PagerDuty trigger and an Opsgenie close (with its
// token) become incident events on EVT_GATEWAY; a bad signature, a
// missing token and a missing team are refused naming the field.
func TestIncidentWebhooksAreVerifiedAndBecomeIncidentEvents(t *testing.T) {
	ctx := context.Background()
	nc := testkit.NATS(t).Conn(t)
	reg, err := schema.Default()
	require.NoError(t, err)
	b, err := bus.New(nc, reg, schema.SubjectFor)
	require.NoError(t, err)
	so := bus.DefaultStreamOptions()
	require.NoError(t, bus.EnsureStreams(ctx, b.JetStream(), bus.ServiceStreams("gateway", so)...))
	h := NewIncidentHooks(IncidentConfig{PagerDutySecrets: []string{"old", "pd-secret"}, OpsgenieTokens: []string{"og-token"}}, b, slog.New(slog.DiscardHandler))
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)

	post := func(path, body string, headers ...string) (int, map[string]any) {
		req, err := http.NewRequest(http.MethodPost, srv.URL+path, bytes.NewReader([]byte(body)))
		require.NoError(t, err)
		for i := 0; i+1 < len(headers); i += 2 {
			req.Header.Set(headers[i], headers[i+1])
		}
		resp, err := http.DefaultClient.Do(req)
		require.NoError(t, err)
		defer resp.Body.Close()
		var out map[string]any
		_ = json.NewDecoder(resp.Body).Decode(&out)
		return resp.StatusCode, out
	}
	pd := "/v1/webhooks/incidents/pagerduty?team=payments&application=shop&stage=prod"
	code, out := post(pd, pagerDutyTriggered, "X-PagerDuty-Signature", sign("wrong", pagerDutyTriggered))
	assert.Equal(t, http.StatusUnauthorized, code)
	assert.Contains(t, out["detail"], "header.X-PagerDuty-Signature")
	code, out = post("/v1/webhooks/incidents/pagerduty", pagerDutyTriggered, "X-PagerDuty-Signature", sign("pd-secret", pagerDutyTriggered))
	assert.Equal(t, http.StatusBadRequest, code)
	assert.Contains(t, out["detail"], "query.team")
	code, _ = post(pd, pagerDutyTriggered, "X-PagerDuty-Signature", sign("other", pagerDutyTriggered)+", "+sign("pd-secret", pagerDutyTriggered))
	require.Equal(t, http.StatusAccepted, code)

	og := "/v1/webhooks/incidents/opsgenie?team=payments"
	code, out = post(og, opsgenieClose)
	assert.Equal(t, http.StatusUnauthorized, code)
	assert.Contains(t, out["detail"], "header.X-Pave-Webhook-Token")
	code, _ = post(og, opsgenieClose, "X-Pave-Webhook-Token", "og-token")
	require.Equal(t, http.StatusAccepted, code)

	s, err := b.JetStream().Stream(ctx, "EVT_GATEWAY")
	require.NoError(t, err)
	opened := incidentOn(t, s, "pave.evt.gateway.incident.opened")
	assert.Equal(t, events.Incident{IncidentID: "PGR0VU2", Provider: "pagerduty", Team: "payments", Application: "shop", Stage: "prod",
		Title: "A little bump in the road", At: time.Date(2020, 10, 2, 18, 45, 22, 169e6, time.UTC)}, opened)
	resolved := incidentOn(t, s, "pave.evt.gateway.incident.resolved")
	assert.Equal(t, "8418d193-2dab-4490-b331-8c02cdd196b7-1517408216123", resolved.IncidentID)
	assert.Equal(t, time.UnixMilli(1517408316123).UTC(), resolved.At)
}

func incidentOn(t *testing.T, s jetstream.Stream, subject string) events.Incident {
	t.Helper()
	m, err := s.GetLastMsgForSubject(context.Background(), subject)
	require.NoError(t, err, subject)
	e, err := bus.Decode(m.Header, m.Data)
	require.NoError(t, err)
	var in events.Incident
	require.NoError(t, e.DataAs(&in))
	return in
}
