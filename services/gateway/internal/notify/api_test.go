package notify

import (
	"bufio"
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/pave-platform/pave/pkg/bus"
	"github.com/pave-platform/pave/pkg/events"
)

// Bad requests are refused naming every wrong field.
func TestCreateNamesTheWrongFields(t *testing.T) {
	cfg := testConfig()
	cfg.AllowHTTP = false
	r := newRig(t, cfg)
	tests := []struct {
		give   map[string]any
		fields []string
	}{
		{map[string]any{"team": "alpha"}, []string{"url"}},
		{map[string]any{"team": "alpha", "url": "https://hooks.example.com/x", "format": "xml",
			"types": []string{"[bad"}, "stages": []string{""}}, []string{"format", "types[0]", "stages[0]"}},
		{map[string]any{"team": "alpha", "url": "ftp://hooks.example.com/x"}, []string{"url"}},
		{map[string]any{"team": "alpha", "url": "https://user:pw@hooks.example.com/x"}, []string{"url"}},
		{map[string]any{"team": "alpha", "url": "http://203.0.113.9/x"}, []string{"url"}}, // https only here
	}
	for _, tt := range tests {
		status, out := r.call("ana", http.MethodPost, "/v1/subscriptions", tt.give)
		require.Equal(t, http.StatusUnprocessableEntity, status, "%v → %v", tt.give, out)
		var got []string
		for _, e := range out["errors"].([]any) {
			got = append(got, e.(map[string]any)["field"].(string))
		}
		assert.Equal(t, tt.fields, got, "%v", tt.give)
	}
	status, out := r.call("ana", http.MethodPost, "/v1/subscriptions", "not an object")
	assert.Equal(t, http.StatusBadRequest, status)
	assert.Equal(t, "body", fieldOf(out))
	status, out = r.call("admin", http.MethodPost, "/v1/subscriptions", map[string]any{"team": "Not A Team", "url": "https://hooks.example.com/x"})
	assert.Equal(t, http.StatusUnprocessableEntity, status)
	assert.Equal(t, "team", fieldOf(out))
	status, _ = r.call("ana", http.MethodGet, "/v1/subscriptions/alpha.NOT%20AN%20ID", nil)
	assert.Equal(t, http.StatusNotFound, status, "an id that cannot exist is not found")
	status, _ = r.call("ana", http.MethodPost, "/v1/alerts/alpha.NOT%20AN%20ID/ack", nil)
	assert.Equal(t, http.StatusNotFound, status)
}

// Destinations that resolve to loopback, link-local or private addresses
// are refused at create, and the dialer refuses them again at the
// address it actually dials.
func TestServerSideRequestForgeryIsRefused(t *testing.T) {
	cfg := testConfig()
	cfg.AllowCIDRs = nil
	r := newRig(t, cfg)
	for _, u := range []string{"http://127.0.0.1:8080/x", "http://localhost/x", "http://[::1]/x", "http://169.254.169.254/latest",
		"http://10.1.2.3/x", "http://192.168.0.1/x", "http://172.16.0.1/x", "http://[fe80::1]/x", "http://0.0.0.0/x",
		"http://[::ffff:127.0.0.1]/x", "http://100.64.0.1/x"} {
		status, out := r.call("ana", http.MethodPost, "/v1/subscriptions", map[string]any{"team": "alpha", "url": u})
		assert.Equal(t, http.StatusUnprocessableEntity, status, u)
		assert.Equal(t, "url", fieldOf(out), u)
	}

	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(http.StatusOK) }))
	defer srv.Close()
	_, err := NewGuard(cfg).Client(time.Second).Get(srv.URL)
	require.ErrorIs(t, err, ErrForbiddenAddress, "dial time: the resolved address is checked")
	resp, err := NewGuard(testConfig()).Client(time.Second).Get(srv.URL)
	require.NoError(t, err, "loopback allowed by PAVE_NOTIFY_ALLOW_CIDRS")
	require.NoError(t, resp.Body.Close())
	allowAll := cfg
	allowAll.AllowPrivate = true
	resp, err = NewGuard(allowAll).Client(time.Second).Get(srv.URL)
	require.NoError(t, err, "allowed by PAVE_NOTIFY_ALLOW_PRIVATE")
	require.NoError(t, resp.Body.Close())
}

// Team B neither sees nor touches team A's subscriptions; viewers read
// but do not change; platform-wide subscriptions are the admins'.
func TestTeamsCannotSeeOrReplayEachOthersSubscriptions(t *testing.T) {
	r := newRig(t, testConfig())
	rc := newReceiver(t)
	id, _ := r.subscribe("ana", map[string]any{"team": "alpha", "url": rc.url()})
	bid, _ := r.subscribe("bo", map[string]any{"team": "beta", "url": rc.url()})

	for _, c := range []struct{ method, path string }{
		{http.MethodGet, "/v1/subscriptions/" + id},
		{http.MethodGet, "/v1/subscriptions/" + id + "/deliveries"},
		{http.MethodPost, "/v1/subscriptions/" + id + "/replay"},
		{http.MethodPost, "/v1/subscriptions/" + id + "/rotate"},
		{http.MethodDelete, "/v1/subscriptions/" + id},
	} {
		status, _ := r.call("bo", c.method, c.path, map[string]any{"from_time": time.Now()})
		assert.Equal(t, http.StatusNotFound, status, "%s %s by another team", c.method, c.path)
	}
	status, _ := r.call("bo", http.MethodPost, "/v1/subscriptions", map[string]any{"team": "alpha", "url": rc.url()})
	assert.Equal(t, http.StatusNotFound, status, "bo is not in alpha")
	status, _ = r.call("bo", http.MethodGet, "/v1/subscriptions?team=alpha", nil)
	assert.Equal(t, http.StatusNotFound, status)
	_, out := r.call("bo", http.MethodGet, "/v1/subscriptions", nil)
	assert.Equal(t, []string{bid}, idsOf(out), "bo's list holds beta's only")
	_, out = r.call("admin", http.MethodGet, "/v1/subscriptions", nil)
	assert.ElementsMatch(t, []string{id, bid}, idsOf(out), "an admin sees every scope")

	status, _ = r.call("vera", http.MethodGet, "/v1/subscriptions/"+id, nil)
	assert.Equal(t, http.StatusOK, status, "a viewer of alpha reads")
	status, _ = r.call("vera", http.MethodDelete, "/v1/subscriptions/"+id, nil)
	assert.Equal(t, http.StatusForbidden, status, "a viewer does not delete")

	status, _ = r.call("ana", http.MethodPost, "/v1/subscriptions", map[string]any{"url": rc.url()})
	assert.Equal(t, http.StatusForbidden, status, "platform-wide is for admins")
	pid, _ := r.subscribe("admin", map[string]any{"url": rc.url()})
	assert.True(t, strings.HasPrefix(pid, "_platform."), pid)
	status, _ = r.call("ana", http.MethodGet, "/v1/subscriptions/"+pid, nil)
	assert.Equal(t, http.StatusForbidden, status)
}

func idsOf(list map[string]any) []string {
	var out []string
	for _, it := range list["items"].([]any) {
		out = append(out, it.(map[string]any)["id"].(string))
	}
	return out
}

// The secret is in the create's answer only; a rotation keeps the old
// one signing too, so a receiver holding either verifies.
func TestSecretShownOnceAndRotationSignsWithBoth(t *testing.T) {
	r := newRig(t, testConfig())
	oldRc, newRc := newReceiver(t), newReceiver(t)
	status, created := r.call("ana", http.MethodPost, "/v1/subscriptions", map[string]any{"team": "alpha", "url": oldRc.url()})
	require.Equal(t, http.StatusCreated, status)
	id, secret := created["id"].(string), created["secret"].(string)
	assert.True(t, strings.HasPrefix(secret, "whsec_"))
	for _, path := range []string{"/v1/subscriptions/" + id, "/v1/subscriptions"} {
		_, out := r.call("ana", http.MethodGet, path, nil)
		assert.NotContains(t, jsonOf(t, out), strings.TrimPrefix(secret, "whsec_"), path)
		assert.NotContains(t, jsonOf(t, out), "secrets\"", path)
	}

	status, rot := r.call("ana", http.MethodPost, "/v1/subscriptions/"+id+"/rotate", nil)
	require.Equal(t, http.StatusOK, status, "%v", rot)
	next := rot["secret"].(string)
	assert.NotEqual(t, secret, next)
	_, got := r.call("ana", http.MethodGet, "/v1/subscriptions/"+id, nil)
	assert.EqualValues(t, 2, got["secrets_valid"])

	// Both receivers at one URL is not possible; send the same event to
	// two subscriptions instead: one rotated (old and new secret), each
	// receiver holding one of them.
	oldRc.setSecret(secret)
	newRc.setSecret(next)
	sub2, ok := r.svc.Index.Get(id)
	require.True(t, ok)
	sub2.ID, sub2.URL = sub2.ID+"x", newRc.url()
	_, err := r.svc.Stores.Subs.Create(context.Background(), sub2.ID, sub2)
	require.NoError(t, err)
	r.svc.Index.Put(sub2)
	r.transition("alpha", "env-rot", 1, "", "queued")
	waitReceived(t, oldRc, 1)
	waitReceived(t, newRc, 1)
	assert.Empty(t, oldRc.invalid())
	assert.Empty(t, newRc.invalid())
}

// Alerting events become alerts with a state, per team; acknowledging
// records who; another team sees none of them.
func TestAlertsAreFoldedAndAcknowledged(t *testing.T) {
	r := newRig(t, testConfig())
	at := time.Now().UTC()
	e, err := bus.NewEvent("budget/alpha/80", "pave/cost", events.TypeBudgetCrossed, events.BudgetCrossed{Team: "alpha",
		Period: "monthly", PeriodStart: at, PeriodEnd: at.Add(time.Hour), ThresholdPercent: 80, Amount: "100", Spent: "81",
		Forecast: "120", Currency: "EUR", At: at})
	require.NoError(t, err)
	require.NoError(t, r.bus.Publish(context.Background(), e))
	require.NoError(t, r.bus.Publish(context.Background(), e), "a duplicate makes no second alert")

	var alert map[string]any
	require.Eventually(t, func() bool {
		_, out := r.call("ana", http.MethodGet, "/v1/alerts?team=alpha", nil)
		items, _ := out["items"].([]any)
		if len(items) == 1 {
			alert = items[0].(map[string]any)
		}
		return alert != nil
	}, 30*time.Second, 50*time.Millisecond, "no budget alert")
	assert.Equal(t, "budget", alert["kind"])
	assert.Equal(t, "open", alert["state"])
	assert.Contains(t, alert["summary"], "80%")
	id := alert["id"].(string)

	status, _ := r.call("bo", http.MethodPost, "/v1/alerts/"+id+"/ack", nil)
	assert.Equal(t, http.StatusNotFound, status, "another team cannot acknowledge it")
	_, out := r.call("bo", http.MethodGet, "/v1/alerts", nil)
	assert.Empty(t, out["items"], "nor see it")
	status, acked := r.call("ana", http.MethodPost, "/v1/alerts/"+id+"/ack", map[string]any{"note": "raising the budget"})
	require.Equal(t, http.StatusOK, status, "%v", acked)
	assert.Equal(t, "acknowledged", acked["state"])
	assert.Equal(t, "ana", acked["acknowledged_by"])
	_, out = r.call("ana", http.MethodGet, "/v1/alerts?team=alpha&state=open", nil)
	assert.Empty(t, out["items"])
	status, out = r.call("ana", http.MethodGet, "/v1/alerts?team=alpha&state=closed", nil)
	assert.Equal(t, http.StatusBadRequest, status)
	assert.Equal(t, "state", fieldOf(out))
}

// The live feed streams a team's events, resumes after Last-Event-ID
// without a gap or a repeat, and with until=settled ends when the
// environment settles.
func TestLiveFeedResumesAndStopsWhenAskedAtSettle(t *testing.T) {
	r := newRig(t, testConfig())
	open := func(query, last string) (*http.Response, *bufio.Scanner) {
		req, err := http.NewRequest(http.MethodGet, r.api.URL+"/v1/events/stream?"+query, nil)
		require.NoError(t, err)
		req.Header.Set("Authorization", "Bearer ana")
		if last != "" {
			req.Header.Set("Last-Event-ID", last)
		}
		resp, err := http.DefaultClient.Do(req)
		require.NoError(t, err)
		require.Equal(t, http.StatusOK, resp.StatusCode)
		return resp, bufio.NewScanner(resp.Body)
	}
	next := func(sc *bufio.Scanner) (id, name, data string) {
		for sc.Scan() {
			line := sc.Text()
			switch {
			case strings.HasPrefix(line, "id: "):
				id = strings.TrimPrefix(line, "id: ")
			case strings.HasPrefix(line, "event: "):
				name = strings.TrimPrefix(line, "event: ")
			case strings.HasPrefix(line, "data: "):
				data = strings.TrimPrefix(line, "data: ")
			case line == "" && name != "":
				return id, name, data
			}
		}
		return "", "", ""
	}
	resp, sc := open("team=alpha", "")
	r.transition("beta", "env-b", 1, "", "queued")
	r.transition("alpha", "env-f", 1, "", "queued")
	r.transition("alpha", "env-f", 2, "queued", "provisioning")
	id1, name, data := next(sc)
	assert.Equal(t, events.TypeEnvironmentTransitioned, name)
	assert.Contains(t, data, `"env-f/transition/1"`, "the first of alpha's, beta's skipped")
	require.NoError(t, resp.Body.Close())

	r.transition("alpha", "env-f", 3, "provisioning", "ready")
	r.transition("alpha", "env-f", 4, "ready", "updating")
	r.transition("alpha", "env-f", 5, "updating", "ready")
	resp, sc = open("team=alpha&environment=env-f&until=settled", id1)
	defer resp.Body.Close()
	var got []string
	for {
		_, name, data := next(sc)
		if name == "" || name == "end" {
			assert.Equal(t, "end", name)
			break
		}
		got = append(got, data[strings.Index(data, `"id":"`)+6:][:len("env-f/transition/2")])
	}
	assert.Equal(t, []string{"env-f/transition/2", "env-f/transition/3"}, got, "resumed after the last id, ended at ready")

	status, out := r.call("ana", http.MethodGet, "/v1/events/stream?team=beta", nil)
	assert.Equal(t, http.StatusNotFound, status, "another team's feed: %v", out)
	status, out = r.call("ana", http.MethodGet, "/v1/events/stream?team=alpha&until=settled", nil)
	assert.Equal(t, http.StatusBadRequest, status)
	assert.Equal(t, "until", fieldOf(out))
}
