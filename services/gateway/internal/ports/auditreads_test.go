package ports

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/pave-platform/pave/pkg/authn"
	"github.com/pave-platform/pave/pkg/bus"
	"github.com/pave-platform/pave/pkg/policy"
	"github.com/pave-platform/pave/pkg/testkit"
	"github.com/pave-platform/pave/services/access/audit"
)

// clock is a settable time for the read counter's minutes.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) now() time.Time         { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) add(d time.Duration)    { c.mu.Lock(); defer c.mu.Unlock(); c.t = c.t.Add(d) }
func (c *clock) set(t time.Time) *clock { c.t = t; return c }

// Permitted reads by one principal in one minute become one record with
// their count; a deny (of a read too) and a write are recorded one by
// one before the answer.
func TestReadsAreCountedPerPrincipalAndMinuteDeniesAndWritesOneByOne(t *testing.T) {
	js := testkit.NATS(t).JetStream(t)
	ctx := context.Background()
	require.NoError(t, bus.EnsureStreams(ctx, js, bus.CoreStreams(bus.DefaultStreamOptions())...))
	policies, err := policy.Load(policy.Config{PoliciesDir: "../../../../deploy/policies"})
	require.NoError(t, err)
	ledger := audit.NewLedger(js)
	reads := NewReadCounter(ledger, time.Hour, slog.New(slog.DiscardHandler))
	clk := (&clock{}).set(time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC))
	reads.now = clk.now
	az := Authz{Decider: policy.New(policies), Recorder: ledger, Reads: reads}

	mux := http.NewServeMux()
	ok := http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(http.StatusOK) })
	for _, p := range []string{"GET /v1/teams", "POST /v1/teams", "GET /v1/audit/verify"} {
		mux.Handle(p, ok)
	}
	h := authorize(az, nil, mux, slog.New(slog.DiscardHandler))
	admin := authn.Principal{ID: "alice", Kind: "user", Roles: []string{authn.RolePlatformAdmin}}
	member := authn.Principal{ID: "bob", Kind: "user", Teams: []string{"a"}, TeamRoles: map[string]string{"a": "developer"}}
	call := func(as authn.Principal, method, path string) int {
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			h.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), principalKey{}, as)))
		}))
		defer srv.Close()
		req, err := http.NewRequest(method, srv.URL+path, strings.NewReader(`{"name":"t"}`))
		require.NoError(t, err)
		resp, err := http.DefaultClient.Do(req)
		require.NoError(t, err)
		require.NoError(t, resp.Body.Close())
		return resp.StatusCode
	}

	for range 50 { // a client polling every 200 ms for 10 s
		require.Equal(t, http.StatusOK, call(admin, http.MethodGet, "/v1/teams"))
	}
	assert.Empty(t, records(t, js), "no read is in the ledger before its minute is over")

	require.Equal(t, http.StatusOK, call(admin, http.MethodPost, "/v1/teams"))
	require.Equal(t, http.StatusForbidden, call(member, http.MethodPost, "/v1/teams"))
	require.Equal(t, http.StatusForbidden, call(member, http.MethodGet, "/v1/audit/verify"))
	got := records(t, js)
	require.Len(t, got, 3, "the write and both denies are recorded at once: %v", got)
	assert.Equal(t, []string{"alice team:create allow", "bob team:create deny", "bob audit:verify deny"},
		[]string{summary(got[0]), summary(got[1]), summary(got[2])})

	require.NoError(t, reads.Flush(ctx, false))
	assert.Len(t, records(t, js), 3, "the minute under way is not recorded yet")
	clk.add(time.Minute)
	require.Equal(t, http.StatusOK, call(admin, http.MethodGet, "/v1/teams")) // the next minute
	require.NoError(t, reads.Flush(ctx, false))
	got = records(t, js)
	require.Len(t, got, 4, "one record for the 50 reads of the minute that is over: %v", got)
	agg := got[3]
	assert.Equal(t, "alice api:reads allow", summary(agg))
	assert.Equal(t, map[string]string{"count": "50", "GET /v1/teams": "50",
		"from": "2026-01-02T03:04:00Z", "to": "2026-01-02T03:05:00Z"}, agg.Details)

	require.NoError(t, reads.Stop(ctx), "stop records the minute under way")
	got = records(t, js)
	require.Len(t, got, 5)
	assert.Equal(t, "1", got[4].Details["count"])
}

// A count whose append fails (the ledger refuses) is kept and recorded by
// the next flush, merged with what came since.
func TestReadCountsSurviveAFailedAppend(t *testing.T) {
	js := testkit.NATS(t).JetStream(t)
	ctx := context.Background()
	failing := &refusingRecorder{next: audit.NewLedger(js), refuse: true}
	require.NoError(t, bus.EnsureStreams(ctx, js, bus.CoreStreams(bus.DefaultStreamOptions())...))
	reads := NewReadCounter(failing, time.Hour, slog.New(slog.DiscardHandler))
	clk := (&clock{}).set(time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC))
	reads.now = clk.now
	req := policy.Request{Principal: authn.Principal{ID: "ci", Kind: "service"}, Resource: policy.TeamResource("a")}
	for range 3 {
		reads.Count(req, "GET /v1/workloads/{id}")
	}
	clk.add(time.Minute)
	require.Error(t, reads.Flush(ctx, false))
	clk.add(-time.Minute)
	reads.Count(req, "GET /v1/workloads/{id}")
	failing.refuse = false
	clk.add(time.Minute)
	require.NoError(t, reads.Flush(ctx, false))
	got := records(t, js)
	require.Len(t, got, 1)
	assert.Equal(t, "4", got[0].Details["count"])
	assert.Equal(t, "a", got[0].Team)
}

// refusingRecorder fails every append while refuse is set, as a full
// AUDIT stream does; otherwise it appends to the real ledger.
type refusingRecorder struct {
	next   Recorder
	refuse bool
}

func (r *refusingRecorder) Append(ctx context.Context, rec audit.Record) error {
	if r.refuse {
		return errFull
	}
	return r.next.Append(ctx, rec)
}

var errFull = errors.New("nats: maximum bytes exceeded")

func records(t *testing.T, js jetstream.JetStream) []audit.Record {
	t.Helper()
	got, err := audit.Query(context.Background(), js, audit.Stream, audit.Filter{Limit: 1000})
	require.NoError(t, err)
	return got
}

func summary(r audit.Record) string { return r.Actor + " " + r.Action + " " + r.Decision }
