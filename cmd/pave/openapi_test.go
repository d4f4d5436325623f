package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// specClient calls the API of a platform that runs with
// PAVE_OPENAPI_CHECK=strict and keeps every violation the gateway's
// checker names in the Pave-Openapi-Violation header.
type specClient struct {
	t     *testing.T
	base  string
	token string

	mu         sync.Mutex
	calls      int
	violations []string
}

type answer struct {
	code   int
	header http.Header
	raw    []byte
	body   map[string]any
}

func (a answer) field() string {
	errs, _ := a.body["errors"].([]any)
	if len(errs) == 0 {
		return ""
	}
	f, _ := errs[0].(map[string]any)["field"].(string)
	return f
}

func (c *specClient) as(token string) *specClient {
	return &specClient{t: c.t, base: c.base, token: token}
}

func (c *specClient) call(method, path string, body any, headers ...string) answer {
	c.t.Helper()
	var rd io.Reader
	switch b := body.(type) {
	case nil:
	case []byte:
		rd = bytes.NewReader(b)
	default:
		raw, err := json.Marshal(b)
		require.NoError(c.t, err)
		rd = bytes.NewReader(raw)
	}
	req, err := http.NewRequest(method, c.base+path, rd)
	require.NoError(c.t, err)
	if c.token != "" {
		req.Header.Set("Authorization", "Bearer "+c.token)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	resp, err := http.DefaultClient.Do(req)
	require.NoError(c.t, err)
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	require.NoError(c.t, err)
	a := answer{code: resp.StatusCode, header: resp.Header, raw: raw}
	_ = json.Unmarshal(raw, &a.body)
	c.mu.Lock()
	c.calls++
	c.violations = append(c.violations, resp.Header.Values("Pave-Openapi-Violation")...)
	c.mu.Unlock()
	return a
}

func (c *specClient) must(want int, method, path string, body any, headers ...string) answer {
	c.t.Helper()
	a := c.call(method, path, body, headers...)
	require.Equal(c.t, want, a.code, "%s %s: %s", method, path, a.raw)
	return a
}

// sseEvent is one server-sent event.
type sseEvent struct{ id, event, data string }

// stream reads GET /v1/environments/{id}/events until the server closes.
func (c *specClient) stream(ctx context.Context, id, lastEventID string) ([]sseEvent, http.Header, error) {
	return c.streamN(ctx, id, lastEventID, -1)
}

// streamN reads the stream until the server closes it or n events came.
func (c *specClient) streamN(ctx context.Context, id, lastEventID string, n int) ([]sseEvent, http.Header, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, c.base+"/v1/environments/"+id+"/events", nil)
	if err != nil {
		return nil, nil, err
	}
	req.Header.Set("Authorization", "Bearer "+c.token)
	if lastEventID != "" {
		req.Header.Set("Last-Event-ID", lastEventID)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil, nil, err
	}
	defer resp.Body.Close()
	c.mu.Lock()
	c.violations = append(c.violations, resp.Header.Values("Pave-Openapi-Violation")...)
	c.mu.Unlock()
	var out []sseEvent
	var cur sseEvent
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		switch {
		case line == "":
			if cur.event != "" {
				out = append(out, cur)
			}
			cur = sseEvent{}
			if len(out) == n {
				return out, resp.Header, nil
			}
		case strings.HasPrefix(line, "id: "):
			cur.id = strings.TrimPrefix(line, "id: ")
		case strings.HasPrefix(line, "event: "):
			cur.event = strings.TrimPrefix(line, "event: ")
		case strings.HasPrefix(line, "data: "):
			cur.data = strings.TrimPrefix(line, "data: ")
		}
	}
	return out, resp.Header, sc.Err()
}

func atoi(s string) int {
	n, _ := strconv.Atoi(s)
	return n
}

func (c *specClient) waitState(id, want string) map[string]any {
	c.t.Helper()
	var env map[string]any
	require.Eventually(c.t, func() bool {
		env = c.call(http.MethodGet, "/v1/environments/"+id, nil).body
		return env["state"] == want
	}, 60*time.Second, 100*time.Millisecond, "environment %s never reached %s: %v", id, want, &env)
	return env
}

// TestEveryRouteFamilyMatchesTheOpenAPISpec drives every route family of
// the API through a real gateway that validates each request and
// response against schemas/openapi.yaml, the errors included, and
// checks the behaviours the spec promises: 202 with an operation and
// Location, the progress stream to its end, paging, If-Match, 413.
func TestEveryRouteFamilyMatchesTheOpenAPISpec(t *testing.T) {
	p := startPlatform(t, "../../deploy/templates", map[string]string{"PAVE_OPENAPI_CHECK": "strict"})
	c := &specClient{t: t, base: p.base, token: p.token}
	defer func() {
		assert.Empty(t, c.violations, "%d calls; the gateway's answers must match schemas/openapi.yaml", c.calls)
	}()

	// Templates, paged one at a time to the end.
	all := c.must(200, "GET", "/v1/templates", nil).body["items"].([]any)
	require.Greater(t, len(all), 1)
	var names []string
	for path := "/v1/templates?limit=1"; ; {
		page := c.must(200, "GET", path, nil).body
		items := page["items"].([]any)
		require.Len(t, items, 1)
		names = append(names, items[0].(map[string]any)["name"].(string))
		next, _ := page["next_cursor"].(string)
		if next == "" {
			break
		}
		path = "/v1/templates?limit=1&cursor=" + next
	}
	assert.Len(t, names, len(all), "the pages hold every template once")
	c.must(200, "GET", "/v1/templates/"+names[0], nil)
	assert.Equal(t, "query.limit", c.must(400, "GET", "/v1/environments?limit=0", nil).field())
	assert.Equal(t, "query.cursor", c.must(400, "GET", "/v1/workloads?cursor=%21%21", nil).field())

	// Create: 202 with the operation and Location; follow the progress
	// stream to its end.
	created := c.must(202, "POST", "/v1/environments",
		map[string]any{"team": "payments", "name": "spec", "template": "redis-cache", "stage": "dev"})
	env := created.body["environment"].(map[string]any)
	id := env["id"].(string)
	op := created.body["operation"].(map[string]any)
	assert.Equal(t, "/v1/operations/"+op["id"].(string), created.header.Get("Location"))
	assert.Equal(t, "create", op["kind"])
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	events, hdr, err := c.stream(ctx, id, "")
	require.NoError(t, err)
	assert.Equal(t, "text/event-stream", hdr.Get("Content-Type"))
	require.GreaterOrEqual(t, len(events), 2, "%v", events)
	assert.Equal(t, "snapshot", events[0].event)
	last := events[len(events)-1]
	assert.Equal(t, "end", last.event)
	assert.JSONEq(t, `{"state":"ready"}`, last.data)
	var kinds []string
	for _, e := range events[1 : len(events)-1] {
		kinds = append(kinds, e.event)
		assert.NotEmpty(t, e.id, "every event has its stream sequence")
		assert.Contains(t, e.data, id)
	}
	assert.Contains(t, kinds, "transitioned")
	assert.Contains(t, kinds, "progressed")
	// A settled environment's stream is its snapshot and the end.
	again, _, err := c.stream(ctx, id, "")
	require.NoError(t, err)
	require.Len(t, again, 2)
	assert.Equal(t, []string{"snapshot", "end"}, []string{again[0].event, again[1].event})

	opv := c.must(200, "GET", created.header.Get("Location"), nil).body
	assert.Equal(t, "completed", opv["state"])
	assert.Equal(t, id, opv["environment_id"])
	assert.NotEmpty(t, opv["steps"])
	assert.NotEmpty(t, opv["ended_at"])
	c.must(404, "GET", "/v1/operations/not-an-operation", nil)

	// Another team sees neither the operation nor the stream.
	stranger := c.as(c.must(201, "POST", "/v1/tokens", map[string]any{"user": "mallory", "expires_in": "1h"}).body["token"].(string))
	stranger.must(404, "GET", created.header.Get("Location"), nil)
	stranger.must(404, "GET", "/v1/environments/"+id+"/events", nil)
	stranger.must(404, "GET", "/v1/environments/"+id, nil)
	c.violations = append(c.violations, stranger.violations...)

	// If-Match: a stale ETag is refused naming the header; the current one
	// goes through.
	got := c.must(200, "GET", "/v1/environments/"+id, nil)
	etag := got.header.Get("ETag")
	require.NotEmpty(t, etag)
	stale := c.must(412, "PATCH", "/v1/environments/"+id, map[string]any{"parameters": map[string]any{}}, "If-Match", `"stale"`)
	assert.Equal(t, "header.If-Match", stale.field())
	assert.Equal(t, etag, stale.header.Get("ETag"))
	upd := c.must(202, "PATCH", "/v1/environments/"+id, map[string]any{"parameters": map[string]any{}}, "If-Match", etag)
	assert.Equal(t, "update", upd.body["operation"].(map[string]any)["kind"])
	c.waitState(id, "ready")
	assert.Equal(t, "ttl", c.must(422, "POST", "/v1/environments/"+id+"/extend", map[string]any{"ttl": "1h"}).field(),
		"a persistent environment has no expiry to extend")

	// A second environment, to page the list; its stream is cut after
	// the first event and resumed with Last-Event-ID.
	second := c.must(202, "POST", "/v1/environments",
		map[string]any{"team": "payments", "name": "spec-two", "template": "redis-cache", "stage": "dev"}).body["environment"].(map[string]any)["id"].(string)
	head, _, err := c.streamN(ctx, second, "", 2)
	require.NoError(t, err)
	require.Len(t, head, 2)
	if head[1].event == "end" {
		t.Log("the environment was ready before the stream began: nothing to resume")
	} else {
		rest, _, err := c.stream(ctx, second, head[1].id)
		require.NoError(t, err)
		require.GreaterOrEqual(t, len(rest), 2)
		assert.Equal(t, "snapshot", rest[0].event)
		assert.Equal(t, "end", rest[len(rest)-1].event)
		for _, e := range rest[1 : len(rest)-1] {
			assert.Greater(t, atoi(e.id), atoi(head[1].id), "only events after Last-Event-ID")
		}
	}
	assert.Equal(t, "header.Last-Event-ID", c.must(400, "GET", "/v1/environments/"+second+"/events", nil, "Last-Event-ID", "x").field())
	page1 := c.must(200, "GET", "/v1/environments?team=payments&limit=1", nil).body
	require.Len(t, page1["items"], 1)
	page2 := c.must(200, "GET", "/v1/environments?team=payments&limit=1&cursor="+page1["next_cursor"].(string), nil).body
	require.Len(t, page2["items"], 1)
	assert.Nil(t, page2["next_cursor"], "two environments: the second page is the last")
	assert.ElementsMatch(t, []string{id, second}, []string{page1["items"].([]any)[0].(map[string]any)["id"].(string),
		page2["items"].([]any)[0].(map[string]any)["id"].(string)})

	// Bad input names the field; a body over 1 MiB is 413.
	assert.Equal(t, "team", c.must(422, "POST", "/v1/environments", map[string]any{"name": "x"}).field())
	assert.Equal(t, "body", c.must(413, "POST", "/v1/environments", bytes.Repeat([]byte(" "), 1<<20+10)).field())
	assert.Equal(t, "body", c.must(413, "PUT", "/v1/budgets/payments", bytes.Repeat([]byte(" "), 1<<20+10)).field())
	c.must(409, "POST", "/v1/environments", map[string]any{"team": "payments", "name": "spec", "template": "redis-cache", "stage": "dev"})
	c.must(401, "GET", "/v1/environments", nil, "Authorization", "Bearer nope")
	c.must(404, "GET", "/v1/no-such-route", nil)

	// Workloads.
	wl := c.must(202, "POST", "/v1/workloads", map[string]any{"team": "payments", "pool": "batch",
		"demand": map[string]any{"cpu": 100, "memory": 128}, "job": map[string]any{"command": "true"}}).body
	c.must(200, "GET", "/v1/workloads?team=payments&limit=10", nil)
	c.must(200, "GET", "/v1/workloads/"+wl["id"].(string), nil)
	assert.Contains(t, []int{200, 409}, c.call("DELETE", "/v1/workloads/"+wl["id"].(string), nil).code)
	assert.Equal(t, "demand", c.must(422, "POST", "/v1/workloads", map[string]any{"team": "payments", "pool": "batch"}).field())

	// Pools and quotas with If-Match.
	c.must(200, "GET", "/v1/pools?limit=1", nil)
	pool := c.must(200, "GET", "/v1/pools/batch", nil)
	capacity := pool.body["capacity"]
	assert.Equal(t, "header.If-Match", c.must(412, "PUT", "/v1/pools/batch", map[string]any{"capacity": capacity}, "If-Match", `"stale"`).field())
	c.must(200, "PUT", "/v1/pools/batch", map[string]any{"capacity": capacity}, "If-Match", pool.header.Get("ETag"))
	c.must(404, "GET", "/v1/pools/no-such", nil)
	quota := c.must(200, "GET", "/v1/quotas/demo", nil)
	c.must(412, "PUT", "/v1/quotas/demo", map[string]any{"weight": 2}, "If-Match", `"stale"`)
	c.must(200, "PUT", "/v1/quotas/demo", map[string]any{"weight": 2, "nominal": quota.body["nominal"]}, "If-Match", quota.header.Get("ETag"))

	// Costs and budgets.
	c.must(200, "POST", "/v1/costs/estimate", map[string]any{"template": "redis-cache"})
	c.must(200, "GET", "/v1/costs?window=7d&aggregate=team", nil)
	c.must(400, "GET", "/v1/costs?window=fortnight", nil)
	c.must(200, "GET", "/v1/costs/export?format=focus&window=7d", nil)
	b := c.must(200, "PUT", "/v1/budgets/payments", map[string]any{"amount": "100.00", "period": "monthly"})
	c.must(412, "PUT", "/v1/budgets/payments", map[string]any{"amount": "200.00", "period": "monthly"}, "If-Match", `"stale"`)
	c.must(200, "PUT", "/v1/budgets/payments", map[string]any{"amount": "200.00", "period": "monthly"}, "If-Match", b.header.Get("ETag"))
	c.must(200, "GET", "/v1/budgets/payments", nil)
	c.must(200, "GET", "/v1/budgets?limit=5", nil)
	c.must(200, "GET", "/v1/ratecards", nil)
	c.must(200, "GET", "/v1/events/types", nil)
	c.must(400, "POST", "/v1/events", []byte(`{"specversion":"1.0"}`), "Content-Type", "application/cloudevents+json")

	// Teams, members, service accounts, tokens, audit.
	c.must(201, "POST", "/v1/teams", map[string]any{"name": "specteam"})
	c.must(200, "GET", "/v1/teams", nil)
	c.must(200, "GET", "/v1/teams/specteam", nil)
	c.must(200, "PUT", "/v1/teams/specteam/members/amy", map[string]any{"role": "developer"})
	c.must(200, "GET", "/v1/teams/specteam/members", nil)
	c.must(201, "POST", "/v1/teams/specteam/service-accounts", map[string]any{"name": "ci", "role": "developer"})
	c.must(200, "GET", "/v1/teams/specteam/service-accounts", nil)
	c.must(204, "DELETE", "/v1/teams/specteam/service-accounts/ci", nil)
	c.must(204, "DELETE", "/v1/teams/specteam/members/amy", nil)
	c.call("PUT", "/v1/users/amy/roles", map[string]any{"roles": []string{}})
	tok := c.must(201, "POST", "/v1/tokens", map[string]any{"user": "amy", "expires_in": "1h"}).body
	c.must(200, "GET", "/v1/tokens", nil)
	c.must(200, "DELETE", "/v1/tokens/"+tok["record"].(map[string]any)["id"].(string), nil)
	c.must(200, "GET", "/v1/whoami", nil)
	c.must(200, "GET", "/v1/audit?limit=5", nil)
	c.must(200, "GET", "/v1/audit/verify", nil)
	c.must(204, "DELETE", "/v1/teams/specteam", nil)

	// The families other areas add: their answers are checked too.
	for _, path := range []string{"/v1/access-requests", "/v1/grants", "/v1/access-reviews", "/v1/promotions",
		"/v1/applications", "/v1/environments/" + id + "/grant-credentials"} {
		a := c.call("GET", path, nil)
		assert.Less(t, a.code, 500, "GET %s: %s", path, a.raw)
	}

	// Teardown: 202, then the stream ends in deleted.
	del := c.must(202, "DELETE", "/v1/environments/"+id, nil)
	assert.Equal(t, "teardown", del.body["operation"].(map[string]any)["kind"])
	events, _, err = c.stream(ctx, id, "")
	require.NoError(t, err)
	assert.JSONEq(t, `{"state":"deleted"}`, events[len(events)-1].data)
	c.must(202, "DELETE", "/v1/environments/"+second, nil)
	c.waitState(second, "deleted")
}
