package main

import (
	"net/http/httptest"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// The subscription, alert and live-feed routes answer as
// schemas/openapi.yaml says, errors included, through a gateway that
// checks every request and response (PAVE_OPENAPI_CHECK=strict).
func TestNotifyRoutesMatchTheOpenAPISpec(t *testing.T) {
	p := startPlatform(t, "../../deploy/templates", map[string]string{"PAVE_OPENAPI_CHECK": "strict",
		"PAVE_NOTIFY_ALLOW_CIDRS": "127.0.0.0/8", "PAVE_NOTIFY_ALLOW_HTTP": "true"})
	c := &specClient{t: t, base: p.base, token: p.token}
	defer func() {
		assert.Empty(t, c.violations, "%d calls; the gateway's answers must match schemas/openapi.yaml", c.calls)
	}()
	rc := &hookReceiver{seen: map[string]bool{}}
	srv := httptest.NewServer(rc)
	defer srv.Close()

	sub := c.must(201, "POST", "/v1/subscriptions", map[string]any{"team": "payments", "url": srv.URL + "/hook",
		"format": "slack", "types": []string{"dev.pave.lifecycle.*"}}).body
	id := sub["id"].(string)
	assert.Equal(t, "url", c.must(422, "POST", "/v1/subscriptions", map[string]any{"team": "payments", "url": "http://10.0.0.1/x"}).field())
	assert.Equal(t, "format", c.must(422, "POST", "/v1/subscriptions", map[string]any{"team": "payments", "url": srv.URL, "format": "xml"}).field())
	c.must(200, "GET", "/v1/subscriptions", nil)
	c.must(200, "GET", "/v1/subscriptions?team=payments", nil)
	c.must(200, "GET", "/v1/subscriptions/"+id, nil)
	c.must(404, "GET", "/v1/subscriptions/payments.nope", nil)
	c.must(200, "POST", "/v1/subscriptions/"+id+"/rotate", nil)
	c.must(200, "POST", "/v1/subscriptions/"+id+"/enable", nil)
	c.must(200, "GET", "/v1/subscriptions/"+id+"/deliveries?limit=10", nil)
	c.must(400, "GET", "/v1/subscriptions/"+id+"/deliveries?limit=0", nil)
	c.must(202, "POST", "/v1/subscriptions/"+id+"/replay", map[string]any{"from_time": time.Now().Add(-time.Hour).UTC().Format(time.RFC3339)})
	assert.Equal(t, "from_event_id", c.must(422, "POST", "/v1/subscriptions/"+id+"/replay", map[string]any{"from_event_id": "nope"}).field())
	c.must(200, "GET", "/v1/alerts", nil)
	c.must(200, "GET", "/v1/alerts?team=payments&state=open&limit=5", nil)
	c.must(404, "POST", "/v1/alerts/payments.nope/ack", map[string]any{"note": "x"})
	assert.Equal(t, "until", c.must(400, "GET", "/v1/events/stream?team=payments&until=settled", nil).field())
	c.must(204, "DELETE", "/v1/subscriptions/"+id, nil)
	require.Positive(t, c.calls)
}
