package main

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

const previewType = "pave.custom.alpha.preview.requested.v1"

// automationsPlatform is pave dev with team alpha, its service accounts
// deployer (developer) and watcher (viewer), team beta with its own
// sender, and alpha's custom type registered.
func automationsPlatform(t *testing.T) (*platform, accessAPI) {
	p := startPlatform(t, "../../deploy/templates", nil)
	admin := accessAPI{t, p.base, p.token}
	admin.must(http.StatusCreated, http.MethodPost, "/v1/teams", map[string]any{"name": "alpha"})
	admin.must(http.StatusCreated, http.MethodPost, "/v1/teams", map[string]any{"name": "beta"})
	admin.must(http.StatusCreated, http.MethodPost, "/v1/teams/alpha/service-accounts", map[string]any{"name": "deployer", "role": "developer"})
	admin.must(http.StatusCreated, http.MethodPost, "/v1/teams/alpha/service-accounts", map[string]any{"name": "watcher", "role": "viewer"})
	admin.must(http.StatusCreated, http.MethodPost, "/v1/teams/beta/service-accounts", map[string]any{"name": "sender", "role": "developer"})
	admin.must(http.StatusCreated, http.MethodPost, "/v1/events/types", map[string]any{
		"type": previewType, "team": "alpha", "description": "a pull request wants a preview",
		"schema": map[string]any{"type": "object", "required": []string{"pr"},
			"properties": map[string]any{"pr": map[string]any{"type": "integer"}, "label": map[string]any{"type": "string"}}}})
	return p, admin
}

func previewEvent(id string, data map[string]any) map[string]any {
	return map[string]any{"specversion": "1.0", "id": id, "source": "github.com/alpha/shop", "type": previewType,
		"datacontenttype": "application/json", "data": data}
}

func postCustomEvent(t *testing.T, api accessAPI, e map[string]any) (int, map[string]any) {
	t.Helper()
	raw, err := json.Marshal(e)
	require.NoError(t, err)
	req, err := http.NewRequest(http.MethodPost, api.base+"/v1/events", bytes.NewReader(raw))
	require.NoError(t, err)
	req.Header.Set("Authorization", "Bearer "+api.token)
	req.Header.Set("Content-Type", "application/cloudevents+json")
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	var out map[string]any
	_ = json.NewDecoder(resp.Body).Decode(&out)
	return resp.StatusCode, out
}

// TestCustomEventTypesAreTheTeamsOwnAndValidated: a bad schema and a
// type outside the team's namespace are refused naming the field; an
// event of a registered type is validated against its schema, and
// another team cannot send it.
func TestCustomEventTypesAreTheTeamsOwnAndValidated(t *testing.T) {
	_, admin := automationsPlatform(t)
	out := admin.must(http.StatusUnprocessableEntity, http.MethodPost, "/v1/events/types", map[string]any{
		"type": "pave.custom.alpha.bad.v1", "team": "alpha", "schema": map[string]any{"type": 5}})
	assert.Equal(t, []string{"schema"}, fieldsOf(out))
	out = admin.must(http.StatusUnprocessableEntity, http.MethodPost, "/v1/events/types", map[string]any{
		"type": "pave.custom.beta.thing.v1", "team": "alpha", "schema": map[string]any{"type": "object"}})
	assert.Equal(t, []string{"type"}, fieldsOf(out))
	out = admin.must(http.StatusUnprocessableEntity, http.MethodPost, "/v1/events/types", map[string]any{
		"type": "dev.pave.lifecycle.environment.ready.v1", "team": "alpha", "schema": map[string]any{"type": "object"}})
	assert.Equal(t, []string{"type"}, fieldsOf(out))

	list := admin.must(http.StatusOK, http.MethodGet, "/v1/events/types", nil)
	var types []string
	for _, it := range list["items"].([]any) {
		types = append(types, it.(map[string]any)["type"].(string))
	}
	assert.Contains(t, types, previewType)
	assert.Contains(t, types, "dev.pave.gateway.git.pushed.v1")

	code, out := postCustomEvent(t, admin, previewEvent("bad-1", map[string]any{"pr": "seven"}))
	assert.Equal(t, http.StatusBadRequest, code, "%v", out)
	assert.Equal(t, []string{"data/pr"}, fieldsOf(out))
	code, out = postCustomEvent(t, admin, previewEvent("ok-1", map[string]any{"pr": 7}))
	assert.Equal(t, http.StatusAccepted, code, "%v", out)

	sender := admin.must(http.StatusCreated, http.MethodPost, "/v1/tokens", map[string]any{"service_account": "beta/sender"})
	code, out = postCustomEvent(t, admin.as(sender["token"].(string)), previewEvent("beta-1", map[string]any{"pr": 8}))
	assert.Equal(t, http.StatusForbidden, code, "beta may not send alpha's type: %v", out)
	assert.Equal(t, []string{"type"}, fieldsOf(out))

	admin.must(http.StatusNoContent, http.MethodDelete, "/v1/events/types/"+previewType, nil)
	require.Eventually(t, func() bool {
		code, _ := postCustomEvent(t, admin, previewEvent("after-delete", map[string]any{"pr": 9}))
		return code == http.StatusBadRequest
	}, 30*time.Second, 200*time.Millisecond, "events of a deleted type are still accepted")
}

// TestAutomationTurnsACustomEventIntoAReadyEnvironmentOnce: one posted
// event runs three automations: one builds the environment as its
// service account, one whose account is a viewer is refused (recorded
// with the reason), one whose template does not exist fails saying why.
// The same event delivered again runs nothing twice.
func TestAutomationTurnsACustomEventIntoAReadyEnvironmentOnce(t *testing.T) {
	p, admin := automationsPlatform(t)
	on := map[string]any{"type": "pave.custom.alpha.preview.*", "data": map[string]any{"label": "preview"}}
	env := func(name, template string) map[string]any {
		return map[string]any{"action": "create-environment", "body": map[string]any{
			"team": "alpha", "name": name, "template": template, "stage": "dev"}}
	}
	admin.must(http.StatusCreated, http.MethodPost, "/v1/automations", map[string]any{
		"team": "alpha", "name": "preview", "service_account": "deployer", "on": on, "do": env("pr-{{data.pr}}", "redis-cache")})
	admin.must(http.StatusCreated, http.MethodPost, "/v1/automations", map[string]any{
		"team": "alpha", "name": "as-viewer", "service_account": "watcher", "on": on, "do": env("viewer-{{data.pr}}", "redis-cache")})
	admin.must(http.StatusCreated, http.MethodPost, "/v1/automations", map[string]any{
		"team": "alpha", "name": "broken", "service_account": "deployer", "on": on, "do": env("broken-{{data.pr}}", "no-such-template")})
	out := admin.must(http.StatusUnprocessableEntity, http.MethodPost, "/v1/automations", map[string]any{
		"team": "alpha", "name": "bad", "service_account": "deployer", "on": on, "do": map[string]any{"action": "format-disk"}})
	assert.Equal(t, []string{"do.action"}, fieldsOf(out))

	code, out := postCustomEvent(t, admin, previewEvent("unlabelled", map[string]any{"pr": 6}))
	require.Equal(t, http.StatusAccepted, code, "%v", out)
	code, out = postCustomEvent(t, admin, previewEvent("pr-7-opened", map[string]any{"pr": 7, "label": "preview"}))
	require.Equal(t, http.StatusAccepted, code, "%v", out)

	run := waitRun(t, admin, "alpha.preview", "succeeded")
	assert.Equal(t, "pr-7-opened", run["event_id"])
	assert.Equal(t, "alpha/deployer", run["as"])
	id := run["result"].(map[string]any)["environment"].(map[string]any)["id"].(string)
	ready := p.waitState(id, "ready")
	assert.Equal(t, "pr-7", ready["name"])
	assert.Equal(t, "alpha", ready["team"])

	refused := waitRun(t, admin, "alpha.as-viewer", "refused")
	assert.Contains(t, refused["reason"], "403")
	assert.Contains(t, refused["reason"], "environment:create")
	failed := waitRun(t, admin, "alpha.broken", "failed")
	assert.Contains(t, failed["reason"], "no-such-template")

	// Deliver the stored event a second time (the consumer cannot tell
	// it from a redelivery after a crash): no automation runs again.
	seq := redeliver(t, p.js, previewType)
	require.Eventually(t, func() bool {
		info, err := p.js.Consumer(context.Background(), "INGRESS", "gateway-automations")
		if err != nil {
			return false
		}
		ci, err := info.Info(context.Background())
		return err == nil && ci.AckFloor.Stream >= seq
	}, 30*time.Second, 50*time.Millisecond, "the automations consumer never took the redelivered event (seq %d)", seq)
	for _, a := range []string{"alpha.preview", "alpha.as-viewer", "alpha.broken"} {
		runs := admin.must(http.StatusOK, http.MethodGet, "/v1/automations/"+a+"/runs", nil)["items"].([]any)
		assert.Len(t, runs, 1, "%s ran once for event pr-7-opened, and not for the unlabelled one: %v", a, runs)
	}
	_, list := p.do(http.MethodGet, "/v1/environments?team=alpha", nil)
	assert.Len(t, list["items"], 1, "one environment, built once: %v", list)
}

func waitRun(t *testing.T, api accessAPI, automation, state string) map[string]any {
	t.Helper()
	var last []any
	var found map[string]any
	require.Eventually(t, func() bool {
		code, out := api.call(http.MethodGet, "/v1/automations/"+automation+"/runs", nil)
		if code != http.StatusOK {
			return false
		}
		last, _ = out["items"].([]any)
		for _, r := range last {
			if m := r.(map[string]any); m["state"] == state {
				found = m
				return true
			}
		}
		return false
	}, 60*time.Second, 100*time.Millisecond, "automation %s has no %s run: %v", automation, state, &last)
	return found
}

// redeliver publishes the last stored event of eventType on INGRESS again,
// headers and data unchanged but for the message id, and answers its
// stream sequence.
func redeliver(t *testing.T, js jetstream.JetStream, eventType string) uint64 {
	t.Helper()
	ctx := context.Background()
	s, err := js.Stream(ctx, "INGRESS")
	require.NoError(t, err)
	m, err := s.GetLastMsgForSubject(ctx, "pave.ingress."+eventType)
	require.NoError(t, err)
	msg := nats.NewMsg(m.Subject)
	msg.Data = m.Data
	for k, vs := range m.Header {
		msg.Header[k] = vs
	}
	msg.Header.Set("Nats-Msg-Id", "redelivery-of-"+msg.Header.Get("Nats-Msg-Id"))
	ack, err := js.PublishMsg(ctx, msg)
	require.NoError(t, err)
	return ack.Sequence
}

// TestIncidentEventsReachDoraAndPaveDoraPrintsTheFourMetrics: incident
// CloudEvents posted to POST /v1/events (one of them twice) are folded
// once; `pave dora` prints the four metrics with the time to restore.
func TestIncidentEventsReachDoraAndPaveDoraPrintsTheFourMetrics(t *testing.T) {
	p := startPlatform(t, "../../deploy/templates", nil)
	admin := accessAPI{t, p.base, p.token}
	admin.must(http.StatusCreated, http.MethodPost, "/v1/teams", map[string]any{"name": "alpha"})
	opened, resolved := time.Date(2026, 1, 3, 5, 0, 0, 0, time.UTC), time.Date(2026, 1, 3, 6, 30, 0, 0, time.UTC)
	incident := func(id, typ string, at time.Time) map[string]any {
		return map[string]any{"specversion": "1.0", "id": id, "source": "tools/incidents", "type": typ, "datacontenttype": "application/json",
			"data": map[string]any{"incident_id": "INC-1", "provider": "cloudevents", "team": "alpha", "stage": "prod", "at": at.Format(time.RFC3339)}}
	}
	for _, e := range []map[string]any{
		incident("inc-1-open", "dev.pave.gateway.incident.opened.v1", opened),
		incident("inc-1-open-edited", "dev.pave.gateway.incident.opened.v1", opened.Add(10*time.Minute)),
		incident("inc-1-resolved", "dev.pave.gateway.incident.resolved.v1", resolved),
		incident("inc-1-resolved", "dev.pave.gateway.incident.resolved.v1", resolved),
	} {
		code, out := postCustomEvent(t, admin, e)
		require.Equal(t, http.StatusAccepted, code, "%v", out)
	}
	q := "/v1/dora?team=alpha&from=2026-01-01T00:00:00Z&to=2026-01-11T00:00:00Z"
	var metrics map[string]any
	require.Eventually(t, func() bool {
		code, out := admin.call(http.MethodGet, q, nil)
		metrics, _ = out["metrics"].(map[string]any)
		return code == http.StatusOK && metrics["time_to_restore_samples"] == 1.0
	}, 30*time.Second, 100*time.Millisecond, "the incident never reached the DORA facts: %v", &metrics)
	assert.Equal(t, 5400.0, metrics["time_to_restore_seconds"], "opened 05:00 (the edit is later), resolved 06:30")
	assert.Equal(t, 0.0, metrics["deployments"])
	assert.Nil(t, metrics["change_failure_rate"], "no deployments: no rate")

	t.Setenv("PAVE_SERVER", p.base)
	t.Setenv("PAVE_TOKEN", p.token)
	var out bytes.Buffer
	require.NoError(t, runDora([]string{"--team", "alpha", "--from", "2026-01-01T00:00:00Z", "--to", "2026-01-11T00:00:00Z", "-o", "table"}, &out))
	printed := strings.Join(strings.Fields(out.String()), " ") // the columns' padding aside
	for _, want := range []string{"deployment frequency 0 production deployments, 0.00 a day", "lead time for changes n/a (median of 0)",
		"change failure rate n/a (no deployments)", "time to restore 1h30m0s (median of 1)"} {
		assert.Contains(t, printed, want)
	}
	code, bad := admin.call(http.MethodGet, "/v1/dora?team=alpha&from=yesterday", nil)
	assert.Equal(t, http.StatusUnprocessableEntity, code)
	assert.Equal(t, []string{"from"}, fieldsOf(bad))
}
