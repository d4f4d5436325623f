package cost

import (
	"context"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/shopspring/decimal"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/pave-platform/pave/pkg/authn"
	"github.com/pave-platform/pave/pkg/bus"
	"github.com/pave-platform/pave/pkg/events"
	"github.com/pave-platform/pave/pkg/rpc"
	"github.com/pave-platform/pave/pkg/schema"
	"github.com/pave-platform/pave/pkg/testkit"
	"github.com/pave-platform/pave/services/cost/internal/adapters"
	"github.com/pave-platform/pave/services/cost/internal/domain"
)

var (
	admin = authn.Principal{ID: "admin", Kind: "user", Roles: []string{authn.RolePlatformAdmin}}
	t0    = time.Date(2025, 3, 10, 0, 0, 0, 0, time.UTC)
	now   = t0.Add(24 * time.Hour)
)

type harness struct {
	t   *testing.T
	nc  *nats.Conn
	bus *bus.Bus
	cfg Config
	svc *Service
	// clock replaces the fixed clock of the replicas started after it is set.
	clock func() time.Time
}

func newHarness(t *testing.T) *harness {
	t.Helper()
	nc := testkit.NATS(t).Conn(t)
	reg, err := schema.Default()
	require.NoError(t, err)
	b, err := bus.New(nc, reg, schema.SubjectFor)
	require.NoError(t, err)
	opts := bus.DefaultStreamOptions()
	require.NoError(t, bus.EnsureStreams(context.Background(), b.JetStream(), bus.CoreStreams(opts)...))
	cfg := Config{RateCards: "../../deploy/cost/ratecards.yaml", EvaluateInterval: time.Hour, SpikeBaselineHours: 24,
		SpikeRatio: "2", SpikeMinAmount: "1", InvoiceIssuer: "Pave", SweepInterval: time.Hour}
	return &harness{t: t, nc: nc, bus: b, cfg: cfg}
}

// start runs a cost replica whose clock stands at now (or reads
// h.clock when set).
func (h *harness) start() {
	h.t.Helper()
	s, err := New(h.nc, h.bus, bus.DefaultStreamOptions(), nil, h.cfg, slog.New(slog.DiscardHandler))
	require.NoError(h.t, err)
	s.now = func() time.Time { return now }
	if h.clock != nil {
		s.now = h.clock
	}
	require.NoError(h.t, s.Start(context.Background()))
	h.svc = s
	h.t.Cleanup(func() { h.stop() })
}

func (h *harness) stop() {
	if h.svc != nil {
		require.NoError(h.t, h.svc.Stop(context.Background()))
		h.svc = nil
	}
}

// publish sends an event with the given id and time.
func (h *harness) publish(id, typ string, at time.Time, data any) {
	h.t.Helper()
	e, err := bus.NewEvent(id, "test", typ, data)
	require.NoError(h.t, err)
	e.SetTime(at)
	require.NoError(h.t, h.bus.Publish(context.Background(), e))
}

func (h *harness) call(subject string, query map[string]string, body any) rpc.Reply {
	h.t.Helper()
	req := rpc.Request{Principal: admin, Query: query, Path: map[string]string{}}
	if body != nil {
		raw, err := json.Marshal(body)
		require.NoError(h.t, err)
		req.Body = raw
	}
	rep, err := rpc.Call(context.Background(), h.nc, subject, req)
	require.NoError(h.t, err)
	return rep
}

func (h *harness) total(query map[string]string) string {
	h.t.Helper()
	rep := h.call(rpc.CostsQuery, query, nil)
	require.Equal(h.t, http.StatusOK, rep.Status, "%+v", rep.Problem)
	var v struct{ Total string }
	require.NoError(h.t, json.Unmarshal(rep.Body, &v))
	return v.Total
}

func (h *harness) eventually(query map[string]string, want string) {
	h.t.Helper()
	var got string
	ok := assert.Eventually(h.t, func() bool { got = h.total(query); return got == want }, 10*time.Second, 20*time.Millisecond)
	require.True(h.t, ok, "total %s, want %s", got, want)
}

var day = map[string]string{"window": "2025-03-10T00:00:00Z,2025-03-11T00:00:00Z"}

func saga(id string, comp bool) events.Saga {
	return events.Saga{ID: id, Step: "s", Attempt: 1, Compensation: comp}
}

// lifecycleOfOneDB (its resource events from index from on):
// checked small, provisioned at 00:00, updated to
// medium at 10:00 (its update checked), deleted at 15:00:
// 10 h × 0.025 + 5 h × 0.10 = 0.75 USD.
func (h *harness) lifecycleOfOneDB(from int) {
	db := []events.CostResource{{ID: "env-a-db", Name: "db", Driver: "postgres", Class: "small"}}
	med := []events.CostResource{{ID: "env-a-db", Name: "db", Driver: "postgres", Class: "medium"}}
	h.publish("env-a.create.1/budget/1", events.TypeCostCheckCommand, t0, events.CostCheckCommand{
		Saga: events.Saga{ID: "env-a.create.1", Step: "budget", Attempt: 1}, EnvironmentID: "env-a", Team: "pay",
		Operation: "create", Resources: db})
	h.publish("env-a.update.2/budget/1", events.TypeCostCheckCommand, t0, events.CostCheckCommand{
		Saga: events.Saga{ID: "env-a.update.2", Step: "budget", Attempt: 1}, EnvironmentID: "env-a", Team: "pay",
		Operation: "update", Resources: med, Previous: db})
	h.publish("t1", events.TypeEnvironmentTransitioned, t0, events.EnvironmentTransitioned{EnvironmentID: "env-a", Team: "pay",
		Name: "a", Template: "postgres-db", Version: "1.0.0", Stage: "dev", From: "provisioning", To: "ready", Revision: 1, Seq: 3, At: t0})
	all := []func(){
		func() {
			h.publish("p1", events.TypeResourceProvisioned, t0, events.ResourceProvisioned{Saga: saga("env-a.create.1", false),
				EnvironmentID: "env-a", ResourceID: "env-a-db", Driver: "postgres", ExternalIDs: []string{}, Outputs: map[string]string{}})
		},
		func() {
			h.publish("u1", events.TypeResourceUpdated, t0.Add(10*time.Hour), events.ResourceUpdated{Saga: saga("env-a.update.2", false),
				EnvironmentID: "env-a", ResourceID: "env-a-db", Driver: "postgres", ExternalIDs: []string{}, Outputs: map[string]string{}})
		},
		func() {
			h.publish("d1", events.TypeResourceDeprovisioned, t0.Add(15*time.Hour), events.ResourceDeprovisioned{
				Saga: saga("env-a.teardown.3", false), EnvironmentID: "env-a", ResourceID: "env-a-db", Existed: true})
		},
	}
	for _, f := range all[from:] {
		f()
	}
}

// TestRestartNeitherLosesNorDoubleCounts: events before a restart, the
// rest (and duplicates of the first, with new message ids) after it.
func TestRestartNeitherLosesNorDoubleCounts(t *testing.T) {
	h := newHarness(t)
	h.start()
	h.lifecycleOfOneDB(3) // only the checks and the transition
	h.publish("p1", events.TypeResourceProvisioned, t0, events.ResourceProvisioned{Saga: saga("env-a.create.1", false),
		EnvironmentID: "env-a", ResourceID: "env-a-db", Driver: "postgres", ExternalIDs: []string{}, Outputs: map[string]string{}})
	h.eventually(day, "0.60") // running since 00:00 at small: 24 h × 0.025
	h.stop()

	h.lifecycleOfOneDB(1) // update and delete arrive while cost is down
	h.start()
	h.eventually(day, "0.75")

	// The same events again (redelivered after their dedupe window: new
	// message ids, same CloudEvent ids) change nothing.
	h.publishAgain()
	h.eventually(day, "0.75")
	assert.Equal(t, "0.75", h.total(map[string]string{"window": "month"}))
}

// publishAgain sends the database's events again under new message ids
// but the same CloudEvent ids, as a replica replaying its outbox after
// the duplicate window would; the order is reversed too.
func (h *harness) publishAgain() {
	h.t.Helper()
	res := events.ResourceProvisioned{Saga: saga("env-a.create.1", false), EnvironmentID: "env-a", ResourceID: "env-a-db",
		Driver: "postgres", ExternalIDs: []string{}, Outputs: map[string]string{}}
	upd := events.ResourceUpdated(res)
	upd.Saga = saga("env-a.update.2", false)
	for _, ev := range []struct {
		id, typ string
		at      time.Time
		data    any
	}{
		{"d1", events.TypeResourceDeprovisioned, t0.Add(15 * time.Hour), events.ResourceDeprovisioned{
			Saga: saga("env-a.teardown.3", false), EnvironmentID: "env-a", ResourceID: "env-a-db", Existed: true}},
		{"u1", events.TypeResourceUpdated, t0.Add(10 * time.Hour), upd},
		{"p1", events.TypeResourceProvisioned, t0, res},
	} {
		e, err := bus.NewEvent(ev.id, "test", ev.typ, ev.data)
		require.NoError(h.t, err)
		e.SetTime(ev.at)
		m, err := h.bus.Message(context.Background(), e)
		require.NoError(h.t, err)
		m.Header.Set("Nats-Msg-Id", "again-"+ev.id)
		_, err = h.bus.JetStream().PublishMsg(context.Background(), m)
		require.NoError(h.t, err)
	}
}

// watcher counts the messages on a subject.
type watcher struct {
	mu   sync.Mutex
	msgs [][]byte
	// subjects are the messages' CloudEvent subjects, in the same order.
	subjects []string
}

func (w *watcher) count() int {
	w.mu.Lock()
	defer w.mu.Unlock()
	return len(w.msgs)
}

func (w *watcher) first() []byte {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.msgs[0]
}

func (h *harness) watch(subject string) *watcher {
	h.t.Helper()
	w := &watcher{}
	sub, err := h.nc.Subscribe(subject, func(m *nats.Msg) {
		w.mu.Lock()
		w.msgs = append(w.msgs, m.Data)
		w.subjects = append(w.subjects, m.Header.Get("ce-subject"))
		w.mu.Unlock()
	})
	require.NoError(h.t, err)
	require.NoError(h.t, h.nc.Flush())
	h.t.Cleanup(func() { _ = sub.Unsubscribe() })
	return w
}

func TestAPIAnswersEstimatesQueriesBudgetsAndExport(t *testing.T) {
	h := newHarness(t)
	h.start()
	h.lifecycleOfOneDB(0)
	h.eventually(day, "0.75")

	// Bad input names the parameter.
	for _, tt := range []struct {
		query map[string]string
		field string
	}{
		{map[string]string{"window": "fortnight"}, "window"},
		{map[string]string{"window": "7d", "aggregate": "team,colour"}, "aggregate"},
		{map[string]string{"window": "7d", "step": "1w"}, "step"},
		{map[string]string{"window": "30d", "step": "1m"}, "step"},
	} {
		rep := h.call(rpc.CostsQuery, tt.query, nil)
		require.Equal(t, http.StatusBadRequest, rep.Status, "%v", tt.query)
		assert.Equal(t, tt.field, rep.Problem.Errors[0].Field)
	}

	// Aggregated per team and template with hourly steps.
	rep := h.call(rpc.CostsQuery, map[string]string{"window": day["window"], "aggregate": "team,template", "step": "1h"}, nil)
	require.Equal(t, http.StatusOK, rep.Status)
	var q struct {
		Total string
		Items []struct {
			Key   map[string]string
			Total string
			Steps []struct{ Cost string }
		}
	}
	require.NoError(t, json.Unmarshal(rep.Body, &q))
	require.Len(t, q.Items, 1)
	assert.Equal(t, map[string]string{"team": "pay", "template": "postgres-db"}, q.Items[0].Key)
	require.Len(t, q.Items[0].Steps, 24)
	assert.Equal(t, "0.03", q.Items[0].Steps[0].Cost, "0.025 an hour rounds up or down so that the day sums")
	assert.Equal(t, "0.10", q.Items[0].Steps[12].Cost)
	assert.Equal(t, "0.00", q.Items[0].Steps[20].Cost)

	// The FOCUS export sums to the query's total and has every column.
	rep = h.call(rpc.CostsExport, map[string]string{"format": "focus", "window": day["window"]}, nil)
	require.Equal(t, http.StatusOK, rep.Status, "%+v", rep.Problem)
	var page struct{ CSV string }
	require.NoError(t, json.Unmarshal(rep.Body, &page))
	records, err := csv.NewReader(strings.NewReader(page.CSV)).ReadAll()
	require.NoError(t, err)
	require.Len(t, records, 3, "header, db small, db medium")
	assert.Equal(t, "BilledCost", records[0][0])
	assert.Contains(t, records[0], "x_Template")
	sum := decimal.Zero
	for _, r := range records[1:] {
		sum = sum.Add(decimal.RequireFromString(r[0]))
		assert.Equal(t, "2025-03-10T00:00:00Z", r[9], "ChargePeriodStart")
	}
	assert.Equal(t, q.Total, sum.StringFixed(2))
	rep = h.call(rpc.CostsExport, map[string]string{"format": "xlsx"}, nil)
	assert.Equal(t, http.StatusBadRequest, rep.Status)

	// A budget: 50% crossed (0.75 of 1.00 in March), one alert only.
	rep = h.call(rpc.BudgetsPut, nil, map[string]any{"amount": "-1"})
	assert.Equal(t, http.StatusUnprocessableEntity, rep.Status)
	req := rpc.Request{Principal: admin, Path: map[string]string{"team": "pay"}, Body: json.RawMessage(`{"amount":"1.00","period":"monthly"}`)}
	r, err := rpc.Call(context.Background(), h.nc, rpc.BudgetsPut, req)
	require.NoError(t, err)
	require.Equal(t, http.StatusOK, r.Status, "%+v", r.Problem)
	var b map[string]any
	require.NoError(t, json.Unmarshal(r.Body, &b))
	assert.Equal(t, "0.75", b["spent"])
	assert.Equal(t, []any{float64(50)}, b["crossed"])

	alerts := h.watch("pave.evt.cost.budget.>")
	svc := h.svc.app
	for range 3 {
		require.NoError(t, svc.Evaluate(context.Background(), h.cfg.spikeRule()))
	}
	require.Eventually(t, func() bool { return alerts.count() == 1 }, 5*time.Second, 20*time.Millisecond)
	assert.Contains(t, string(alerts.first()), `"threshold_percent":50`)

	// A team sees only its own costs.
	other := rpc.Request{Principal: authn.Principal{ID: "eve", Kind: "user", Teams: []string{"other"}}, Query: day}
	r, err = rpc.Call(context.Background(), h.nc, rpc.CostsQuery, other)
	require.NoError(t, err)
	assert.Contains(t, string(r.Body), `"total":"0.00"`)
	other.Path = map[string]string{"team": "pay"}
	r, err = rpc.Call(context.Background(), h.nc, rpc.BudgetsGet, other)
	require.NoError(t, err)
	assert.Equal(t, http.StatusNotFound, r.Status)
}

func TestBuiltInRateCardIsTheShippedOne(t *testing.T) {
	shipped, err := os.ReadFile("../../deploy/cost/ratecards.yaml")
	require.NoError(t, err)
	assert.Equal(t, string(shipped), string(DefaultRateCard), "copy deploy/cost/ratecards.yaml to services/cost/ratecards.default.yaml")
	card, err := LoadRateCard("")
	require.NoError(t, err)
	assert.Equal(t, "USD", card.Currency)
}

func TestRefusesANegativePriceNamingTheField(t *testing.T) {
	file := filepath.Join(t.TempDir(), "card.yaml")
	require.NoError(t, os.WriteFile(file, []byte("currency: USD\ndrivers: {postgres: {small: \"-1\"}}\njobs: {cpu_second: 0, gb_second: 0}\n"), 0o600))
	h := newHarness(t)
	h.cfg.RateCards = file
	_, err := New(h.nc, h.bus, bus.DefaultStreamOptions(), nil, h.cfg, slog.New(slog.DiscardHandler))
	require.Error(t, err)
	assert.Contains(t, err.Error(), "drivers.postgres.small: price -1 is negative")
	assert.Contains(t, err.Error(), file)
}

// TestTransitionsAreStoredOnlyWhenCostReadsThem: a create and teardown is
// six transitions; cost reads of them whether the environment is pending,
// running or finished (and when it finished), so it stores three, and
// what it stores says so.
func TestTransitionsAreStoredOnlyWhenCostReadsThem(t *testing.T) {
	h := newHarness(t)
	h.start()
	ctx := context.Background()
	st, err := h.bus.JetStream().Stream(ctx, "KV_"+adapters.MetersBucket)
	require.NoError(t, err)
	info, err := st.Info(ctx)
	require.NoError(t, err)
	before := info.State.LastSeq

	states := []string{"", "requested", "queued", "provisioning", "ready", "decommissioning", "deleted"}
	for seq := 1; seq < len(states); seq++ {
		h.publish(fmt.Sprintf("env-w/transition/%d", seq), events.TypeEnvironmentTransitioned, t0, events.EnvironmentTransitioned{
			EnvironmentID: "env-w", Team: "pay", Name: "w", Template: "postgres-db", Version: "1.0.0", Stage: "dev",
			From: states[seq-1], To: states[seq], Revision: 1, Seq: seq, At: t0.Add(time.Duration(seq) * time.Minute)})
	}
	meters, err := h.bus.JetStream().KeyValue(ctx, adapters.MetersBucket)
	require.NoError(t, err)
	var env domain.Environment
	require.Eventually(t, func() bool {
		entry, err := meters.Get(ctx, "env.env-w")
		return err == nil && json.Unmarshal(entry.Value(), &env) == nil && env.State == "deleted"
	}, 30*time.Second, 20*time.Millisecond, "the environment never read deleted at cost; last: %+v", env)
	info, err = st.Info(ctx)
	require.NoError(t, err)
	assert.Equal(t, uint64(3), info.State.LastSeq-before, "requested, ready and deleted are stored; the moves between them are not")
	assert.Equal(t, 6, env.Seq)
	assert.Equal(t, t0.Add(6*time.Minute), env.At, "a finished environment's time is when it finished")
}
