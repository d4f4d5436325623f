package scheduler_test

import (
	"context"
	"encoding/json"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/cloudevents/sdk-go/v2/event"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/pave-platform/pave/pkg/authn"
	"github.com/pave-platform/pave/pkg/bus"
	"github.com/pave-platform/pave/pkg/events"
	"github.com/pave-platform/pave/pkg/rpc"
	"github.com/pave-platform/pave/pkg/schema"
	"github.com/pave-platform/pave/pkg/testkit"
	"github.com/pave-platform/pave/services/scheduler"
)

const pools = `
starvationAfter: 1h
pools:
  - name: batch
    capacity: {cpu: 8, memory: 16}
  - name: platform
    capacity: {environments: 10, ops: 2}
teams:
  - name: a
    nominal: {batch: {cpu: 4, memory: 8}, platform: {environments: 5, ops: 1}}
    borrowingLimit: {platform: {ops: 0}}
  - name: b
    nominal: {batch: {cpu: 4, memory: 8}, platform: {environments: 5, ops: 1}}
`

type harness struct {
	t    *testing.T
	srv  *testkit.NATSServer
	nc   *nats.Conn
	bus  *bus.Bus
	js   jetstream.JetStream
	file string
}

func newHarness(t *testing.T) *harness {
	t.Helper()
	file := filepath.Join(t.TempDir(), "pools.yaml")
	require.NoError(t, os.WriteFile(file, []byte(pools), 0o600))
	srv := testkit.NATS(t)
	h := &harness{t: t, srv: srv, file: file}
	h.nc = srv.Conn(t)
	h.bus = newBus(t, h.nc)
	h.js = h.bus.JetStream()
	return h
}

func newBus(t *testing.T, nc *nats.Conn) *bus.Bus {
	t.Helper()
	reg, err := schema.Default()
	require.NoError(t, err)
	b, err := bus.New(nc, reg, schema.SubjectFor, bus.WithAttemptTimeout(time.Second))
	require.NoError(t, err)
	return b
}

// start runs one scheduler replica on its own connection; closing the
// connection is how a test crashes it.
func (h *harness) start() (*scheduler.Service, *nats.Conn) {
	h.t.Helper()
	nc := h.srv.Conn(h.t)
	b := newBus(h.t, nc)
	cfg := scheduler.Config{File: h.file, Tick: 50 * time.Millisecond, RunnerTimeout: time.Second, LeaseTTL: time.Second}
	s, err := scheduler.New(nc, b, bus.DefaultStreamOptions(), nil, cfg, slog.New(slog.DiscardHandler))
	require.NoError(h.t, err)
	require.NoError(h.t, s.Start(context.Background()))
	h.t.Cleanup(func() { stop(h.t, s) })
	return s, nc
}

func stop(t *testing.T, s *scheduler.Service) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	_ = s.Stop(ctx) // a crashed replica's stop fails on its closed connection
}

var admin = authn.Principal{ID: "admin", Kind: "user", Roles: []string{authn.RolePlatformAdmin}}

func member(team string) authn.Principal {
	return authn.Principal{ID: "dev-" + team, Kind: "user", Teams: []string{team}}
}

// call sends an API call, retrying while no leader answers.
func (h *harness) call(subject string, p authn.Principal, path map[string]string, body any) rpc.Reply {
	h.t.Helper()
	raw, err := json.Marshal(body)
	require.NoError(h.t, err)
	if body == nil {
		raw = nil
	}
	var rep rpc.Reply
	require.Eventually(h.t, func() bool {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		rep, err = rpc.Call(ctx, h.nc, subject, rpc.Request{Principal: p, Path: path, Body: raw})
		return err == nil && rep.Status != http.StatusServiceUnavailable
	}, 15*time.Second, 20*time.Millisecond, "no scheduler answered %s: %v", subject, err)
	return rep
}

func (h *harness) get(id string, p authn.Principal) (int, map[string]any) {
	rep := h.call(rpc.WorkloadsGet, p, map[string]string{"id": id}, nil)
	var v map[string]any
	if rep.Body != nil {
		require.NoError(h.t, json.Unmarshal(rep.Body, &v))
	}
	return rep.Status, v
}

func (h *harness) waitState(id, state string) map[string]any {
	h.t.Helper()
	var v map[string]any
	require.Eventually(h.t, func() bool {
		_, v = h.get(id, admin)
		return v["state"] == state
	}, 15*time.Second, 20*time.Millisecond, "workload %s never reached %s: %v", id, state, &v)
	return v
}

func job(id, team string, cpu int) map[string]any {
	return map[string]any{"id": id, "team": team, "pool": "batch", "demand": map[string]int{"cpu": cpu, "memory": 1},
		"job": map[string]any{"command": "true"}}
}

// logEvents reads the scheduler's whole log.
func (h *harness) logEvents() []event.Event {
	h.t.Helper()
	s, err := h.js.Stream(context.Background(), "EVT_SCHEDULER")
	require.NoError(h.t, err)
	info, err := s.Info(context.Background())
	require.NoError(h.t, err)
	var out []event.Event
	for seq := info.State.FirstSeq; seq <= info.State.LastSeq && info.State.Msgs > 0; seq++ {
		m, err := s.GetMsg(context.Background(), seq)
		require.NoError(h.t, err)
		e, err := bus.Decode(m.Header, m.Data)
		require.NoError(h.t, err)
		out = append(out, e)
	}
	return out
}

// TestSubmitGetAndWhyItWaits pins the reasons of plain weighted fair
// sharing (a team takes the whole pool while the other is idle), so it
// turns quota enforcement off; quota_test.go covers the enforced mode.
func TestSubmitGetAndWhyItWaits(t *testing.T) {
	h := newHarness(t)
	require.NoError(t, os.WriteFile(h.file, []byte("enforceQuotas: false\n"+pools[1:]), 0o600))
	h.start()
	rep := h.call(rpc.WorkloadsSubmit, member("a"), nil, job("a-1", "a", 8))
	require.Equal(t, http.StatusAccepted, rep.Status, "%+v", rep.Problem)
	h.waitState("a-1", "admitted")

	// The pool is full: b's job waits, and says why, in words.
	rep = h.call(rpc.WorkloadsSubmit, member("b"), nil, job("b-1", "b", 2))
	require.Equal(t, http.StatusAccepted, rep.Status)
	rep = h.call(rpc.WorkloadsSubmit, member("b"), nil, job("b-2", "b", 2))
	require.Equal(t, http.StatusAccepted, rep.Status)
	var v map[string]any
	require.Eventually(t, func() bool {
		_, v = h.get("b-2", member("b"))
		return v["reason"] != nil && v["reason"] != "queued; the next scheduling pass decides"
	}, 10*time.Second, 20*time.Millisecond)
	assert.Equal(t, "queued", v["state"])
	assert.Equal(t, "pool capacity exhausted for cpu", v["reason"])
	assert.EqualValues(t, 2, v["position"], "b-1 is ahead of it")
	assert.Equal(t, "admitted; waiting for a runner of pool batch to start it", h.waitState("a-1", "admitted")["reason"])

	// A team never sees another team's workloads.
	code, _ := h.get("a-1", member("b"))
	assert.Equal(t, http.StatusNotFound, code)
	rep = h.call(rpc.WorkloadsList, member("b"), nil, nil)
	var list struct{ Items []map[string]any }
	require.NoError(t, json.Unmarshal(rep.Body, &list))
	assert.Len(t, list.Items, 2)
	for _, it := range list.Items {
		assert.Equal(t, "b", it["team"])
	}

	// Cancelling the queued one dequeues it.
	rep = h.call(rpc.WorkloadsCancel, member("b"), map[string]string{"id": "b-2"}, nil)
	require.Equal(t, http.StatusOK, rep.Status)
	assert.Equal(t, "cancelled", h.waitState("b-2", "cancelled")["state"])
}

func TestSubmitRejectsBadInputNamingTheField(t *testing.T) {
	h := newHarness(t)
	h.start()
	require.Equal(t, http.StatusAccepted, h.call(rpc.WorkloadsSubmit, admin, nil, job("parent", "a", 1)).Status)
	with := func(change func(map[string]any)) map[string]any {
		b := job("x-1", "a", 1)
		change(b)
		return b
	}
	for name, tc := range map[string]struct {
		body  map[string]any
		field string
	}{
		"unknown pool":         {with(func(b map[string]any) { b["pool"] = "gpu" }), "pool"},
		"unknown team":         {with(func(b map[string]any) { b["team"] = "zz" }), "team"},
		"negative demand":      {with(func(b map[string]any) { b["demand"] = map[string]int{"cpu": -1} }), "demand.cpu"},
		"empty demand":         {with(func(b map[string]any) { b["demand"] = map[string]int{"cpu": 0} }), "demand"},
		"no demand":            {with(func(b map[string]any) { delete(b, "demand") }), "demand"},
		"larger than the pool": {with(func(b map[string]any) { b["demand"] = map[string]int{"cpu": 9} }), "demand.cpu"},
		"resource not in pool": {with(func(b map[string]any) { b["demand"] = map[string]int{"gpu": 1} }), "demand.gpu"},
		"self dependency":      {with(func(b map[string]any) { b["depends_on"] = []string{"x-1"} }), "depends_on[0]"},
		"unknown dependency":   {with(func(b map[string]any) { b["depends_on"] = []string{"parent", "nope"} }), "depends_on[1]"},
		"job without command":  {with(func(b map[string]any) { b["job"] = map[string]any{"command": " "} }), "job.command"},
		"bad runtime":          {with(func(b map[string]any) { b["max_runtime"] = "soon" }), "max_runtime"},
		"unknown field":        {with(func(b map[string]any) { b["colour"] = "red" }), "colour"},
		"bad id":               {with(func(b map[string]any) { b["id"] = "has space" }), "id"},
		"bad kind":             {with(func(b map[string]any) { b["kind"] = "vm" }), "kind"},
	} {
		t.Run(name, func(t *testing.T) {
			rep := h.call(rpc.WorkloadsSubmit, admin, nil, tc.body)
			require.Equal(t, http.StatusUnprocessableEntity, rep.Status, "%s", rep.Body)
			require.NotNil(t, rep.Problem)
			require.NotEmpty(t, rep.Problem.Errors)
			assert.Equal(t, tc.field, rep.Problem.Errors[0].Field, rep.Problem.Detail)
		})
	}
	// A member of a cannot submit for b.
	rep := h.call(rpc.WorkloadsSubmit, member("a"), nil, job("x-2", "b", 1))
	assert.Equal(t, http.StatusUnprocessableEntity, rep.Status)
	// Nothing rejected was queued.
	code, _ := h.get("x-1", admin)
	assert.Equal(t, http.StatusNotFound, code)
	// A duplicate id is a conflict.
	assert.Equal(t, http.StatusConflict, h.call(rpc.WorkloadsSubmit, admin, nil, job("parent", "a", 1)).Status)
}

// TestEnvironmentAdmissionThroughCommands: a saga's admit step gets an
// admission, or waits and is told why; release gives it back.
func TestEnvironmentAdmissionThroughCommands(t *testing.T) {
	h := newHarness(t)
	h.start()
	ctx := context.Background()
	submit := func(id string) {
		ref := &events.Saga{ID: id + ".create.1", Step: "admit", Attempt: 1}
		e, err := bus.NewEvent(id+"/admit", "test", events.TypeSubmitCommand, events.SubmitCommand{
			Workload: events.WorkloadSpec{ID: id, Team: "a", Pool: "platform", Kind: "environment",
				Demand: map[string]int64{"environments": 1, "ops": 1}},
			Saga: ref, SubmittedBy: "lifecycle"})
		require.NoError(t, err)
		e.SetSubject(id)
		require.NoError(t, h.bus.Publish(ctx, e))
	}
	submit("env-1")
	h.waitState("env-1", "admitted")
	// a has one ops unit and may not borrow: the second waits.
	submit("env-2")
	var waiting events.WorkloadWaiting
	require.Eventually(t, func() bool {
		for _, e := range h.logEvents() {
			if e.Type() == events.TypeWorkloadWaiting {
				require.NoError(t, json.Unmarshal(e.Data(), &waiting))
				return waiting.WorkloadID == "env-2"
			}
		}
		return false
	}, 10*time.Second, 50*time.Millisecond)
	// With quotas enforced (the default), an environment (never
	// preemptible) stays within its team's nominal quota.
	assert.Equal(t, "team quota exhausted for ops for work that is not preemptible; only preemptible work borrows", waiting.Reason)
	require.NotNil(t, waiting.Saga)
	assert.Equal(t, "env-2.create.1", waiting.Saga.ID)

	// env-1 is ready: it gives back its ops unit, and env-2 is admitted.
	settle, err := bus.NewEvent("env-1/settle", "test", events.TypeSettleCommand, events.SettleCommand{
		WorkloadID: "env-1", Release: map[string]int64{"ops": 1}, Saga: &events.Saga{ID: "env-1.create.1", Step: "settle", Attempt: 1}})
	require.NoError(t, err)
	require.NoError(t, h.bus.Publish(ctx, settle))
	h.waitState("env-2", "admitted")
	_, v := h.get("env-1", admin)
	assert.Equal(t, map[string]any{"environments": float64(1), "ops": float64(0)}, v["demand"])

	// Teardown releases; releasing an unknown id is answered too.
	for _, id := range []string{"env-1", "env-404"} {
		e, err := bus.NewEvent(id+"/release", "test", events.TypeReleaseCommand, events.ReleaseCommand{
			WorkloadID: id, Reason: "torn down", Saga: &events.Saga{ID: id + ".teardown.2", Step: "release", Attempt: 1}})
		require.NoError(t, err)
		require.NoError(t, h.bus.Publish(ctx, e))
	}
	h.waitState("env-1", "released")
	require.Eventually(t, func() bool {
		for _, e := range h.logEvents() {
			var r events.WorkloadReleased
			if e.Type() == events.TypeWorkloadReleased && json.Unmarshal(e.Data(), &r) == nil && r.WorkloadID == "env-404" {
				return !r.Existed && r.Saga != nil && r.Saga.ID == "env-404.teardown.2"
			}
		}
		return false
	}, 10*time.Second, 50*time.Millisecond)

	// Admitted events carry the saga back to it. Every workload event
	// names its workload as CloudEvent subject, so a consumer (lifecycle's
	// admissions) handles different workloads side by side instead of one
	// after the other on the shared NATS subject.
	var admitted []events.WorkloadAdmitted
	for _, e := range h.logEvents() {
		var a events.WorkloadAdmitted
		var w struct {
			WorkloadID string `json:"workload_id"`
			Workload   struct {
				ID string `json:"id"`
			} `json:"workload"`
		}
		if json.Unmarshal(e.Data(), &w) == nil && w.WorkloadID+w.Workload.ID != "" {
			assert.Equal(t, w.WorkloadID+w.Workload.ID, e.Subject(), "subject of %s %s", e.Type(), e.ID())
		}
		if e.Type() == events.TypeWorkloadAdmitted {
			require.NoError(t, json.Unmarshal(e.Data(), &a))
			admitted = append(admitted, a)
		}
	}
	require.Len(t, admitted, 2)
	assert.Equal(t, "env-1.create.1", admitted[0].Saga.ID)
	assert.Equal(t, "env-2.create.1", admitted[1].Saga.ID)
}

// TestFailoverRebuildsAndNeverAdmitsTwice: the leader dies; the standby
// takes over within the lease TTL, rebuilds from the log and goes on.
func TestFailoverRebuildsAndNeverAdmitsTwice(t *testing.T) {
	h := newHarness(t)
	first, firstConn := h.start()
	for i := range 6 {
		id := "w" + string(rune('0'+i))
		w := job(id, "a", 2)
		w["preemptible"] = true // beyond a's nominal 4 cpu, only preemptible work borrows b's idle share
		require.Equal(t, http.StatusAccepted, h.call(rpc.WorkloadsSubmit, admin, nil, w).Status)
	}
	h.waitState("w3", "admitted")
	second, _ := h.start()
	require.True(t, first.Leading())
	require.False(t, second.Leading())

	// Crash the leader: it stops without a word (its lease just expires).
	killed := time.Now()
	firstConn.Close()
	require.Eventually(t, second.Leading, 5*time.Second, 10*time.Millisecond, "no takeover within 5s")
	t.Logf("takeover after %s", time.Since(killed).Round(time.Millisecond))

	// The new leader knows everything: 4 admitted (8 cpu), 2 queued.
	for i, want := range []string{"admitted", "admitted", "admitted", "admitted", "queued", "queued"} {
		_, v := h.get("w"+string(rune('0'+i)), admin)
		assert.Equal(t, want, v["state"], "w%d", i)
	}
	// (b's own quota would preempt a's borrowed jobs: the new one is a's,
	// borrowing too, and waits for the full pool.)
	w6 := job("w6", "a", 1)
	w6["preemptible"] = true
	require.Equal(t, http.StatusAccepted, h.call(rpc.WorkloadsSubmit, admin, nil, w6).Status)
	h.waitState("w6", "queued")

	admissions := map[string]int{}
	for _, e := range h.logEvents() {
		if e.Type() == events.TypeWorkloadAdmitted {
			var a events.WorkloadAdmitted
			require.NoError(t, json.Unmarshal(e.Data(), &a))
			admissions[a.WorkloadID]++
		}
	}
	for id, n := range admissions {
		assert.Equal(t, 1, n, "%s admitted %d times", id, n)
	}
	assert.Len(t, admissions, 4)
}

// TestRunnerThatStopsHeartbeatingLosesItsJobs: a runner starts a job and
// is never heard of again; the admission is reclaimed and the job queued
// and admitted again.
func TestRunnerThatStopsHeartbeatingLosesItsJobs(t *testing.T) {
	h := newHarness(t)
	h.start()
	require.Equal(t, http.StatusAccepted, h.call(rpc.WorkloadsSubmit, admin, nil, job("lost", "a", 1)).Status)
	h.waitState("lost", "admitted")
	e, err := bus.NewEvent("lost/1/started", "test-runner", events.TypeJobStarted, events.JobStarted{
		WorkloadID: "lost", Admission: 1, Runner: "vanished", Pool: "batch", PID: 1, At: time.Now().UTC()})
	require.NoError(t, err)
	e.SetSubject("lost")
	require.NoError(t, h.bus.Publish(context.Background(), e))
	h.waitState("lost", "running")

	var v map[string]any
	require.Eventually(t, func() bool {
		_, v = h.get("lost", admin)
		return v["admission"] == float64(2)
	}, 10*time.Second, 20*time.Millisecond, "never reclaimed: %v", &v)
	var requeued events.WorkloadRequeued
	for _, e := range h.logEvents() {
		if e.Type() == events.TypeWorkloadRequeued {
			require.NoError(t, json.Unmarshal(e.Data(), &requeued))
		}
	}
	assert.Equal(t, 1, requeued.Admission)
	assert.Contains(t, requeued.Reason, "runner vanished sent no heartbeat")
}

// TestPoolsAndQuotasThroughTheAPI: a platform admin changes capacity and
// quotas; nobody else may; bad values are refused naming the field.
func TestPoolsAndQuotasThroughTheAPI(t *testing.T) {
	h := newHarness(t)
	h.start()
	put := func(p authn.Principal, subject string, path map[string]string, body any) rpc.Reply {
		return h.call(subject, p, path, body)
	}
	rep := put(member("a"), rpc.PoolsPut, map[string]string{"name": "batch"}, map[string]any{"capacity": map[string]int{"cpu": 16, "memory": 16}})
	assert.Equal(t, http.StatusForbidden, rep.Status)
	rep = put(admin, rpc.PoolsPut, map[string]string{"name": "batch"}, map[string]any{"capacity": map[string]int{"cpu": -1, "memory": 16}})
	require.Equal(t, http.StatusUnprocessableEntity, rep.Status)
	assert.Equal(t, "capacity.cpu", rep.Problem.Errors[0].Field)

	rep = put(admin, rpc.PoolsPut, map[string]string{"name": "gpu"}, map[string]any{"capacity": map[string]int{"gpu": 4}})
	require.Equal(t, http.StatusOK, rep.Status, "%+v", rep.Problem)
	rep = put(admin, rpc.QuotasPut, map[string]string{"team": "a"}, map[string]any{"weight": 2,
		"nominal": map[string]any{"gpu": map[string]int{"gpu": 3}}})
	require.Equal(t, http.StatusOK, rep.Status, "%+v", rep.Problem)
	rep = put(admin, rpc.QuotasPut, map[string]string{"team": "a"}, map[string]any{"nominal": map[string]any{"tpu": map[string]int{"x": 1}}})
	require.Equal(t, http.StatusUnprocessableEntity, rep.Status)
	assert.Equal(t, "nominal.tpu", rep.Problem.Errors[0].Field)

	// The new pool takes work at once, and a shrink that would strand it is refused.
	gpuJob := map[string]any{"id": "g-1", "team": "a", "pool": "gpu", "demand": map[string]int{"gpu": 3}, "job": map[string]any{"command": "true"}}
	require.Equal(t, http.StatusAccepted, h.call(rpc.WorkloadsSubmit, member("a"), nil, gpuJob).Status)
	h.waitState("g-1", "admitted")
	rep = put(admin, rpc.PoolsPut, map[string]string{"name": "gpu"}, map[string]any{"capacity": map[string]int{"gpu": 2}})
	require.Equal(t, http.StatusUnprocessableEntity, rep.Status)
	assert.Equal(t, "capacity.gpu", rep.Problem.Errors[0].Field)

	// Quotas are visible to the team, not to others (404, not 403).
	rep = h.call(rpc.QuotasGet, member("a"), map[string]string{"team": "a"}, nil)
	require.Equal(t, http.StatusOK, rep.Status)
	var q map[string]any
	require.NoError(t, json.Unmarshal(rep.Body, &q))
	assert.EqualValues(t, 2, q["weight"])
	assert.Equal(t, http.StatusNotFound, h.call(rpc.QuotasGet, member("b"), map[string]string{"team": "a"}, nil).Status)

	// API changes survive a new leader (they are in the log).
	rep = h.call(rpc.PoolsGet, member("a"), map[string]string{"name": "gpu"}, nil)
	require.Equal(t, http.StatusOK, rep.Status)
}

// Issue 15: a job whose runner went quiet (reports stuck behind a full
// stream, a runner restart) is queued again; when its end is reported
// after all, before it is admitted anew, it is finished with that
// report and never runs a second time.
func TestLateEndOfAReclaimedJobFinishesItOnce(t *testing.T) {
	h := newHarness(t)
	h.start()
	require.Equal(t, http.StatusAccepted, h.call(rpc.WorkloadsSubmit, admin, nil, job("late", "a", 4)).Status)
	h.waitState("late", "admitted")
	report := func(id, eventType string, data any) {
		e, err := bus.NewEvent(id, "test-runner", eventType, data)
		require.NoError(t, err)
		e.SetSubject("late")
		require.NoError(t, h.bus.Publish(context.Background(), e))
	}
	report("late/1/started", events.TypeJobStarted, events.JobStarted{
		WorkloadID: "late", Admission: 1, Runner: "quiet", Pool: "batch", PID: 1, At: time.Now().UTC()})
	h.waitState("late", "running")
	// A more urgent job of the same team takes a's nominal quota once the
	// admission comes back, so "late" waits in the queue.
	urgent := job("urgent", "a", 4)
	urgent["priority"] = 10
	require.Equal(t, http.StatusAccepted, h.call(rpc.WorkloadsSubmit, admin, nil, urgent).Status)
	v := h.waitState("late", "queued")
	require.EqualValues(t, 1, v["admission"], "reclaimed, not admitted again")
	h.waitState("urgent", "admitted")

	report("late/1/finished", events.TypeJobFinished, events.JobFinished{WorkloadID: "late", Admission: 1,
		Runner: "quiet", ExitCode: 0, DurationMS: 5, StartedAt: time.Now().UTC(), At: time.Now().UTC()})
	v = h.waitState("late", "finished")
	assert.EqualValues(t, 1, v["admission"])
	admitted := 0
	for _, e := range h.logEvents() {
		var a events.WorkloadAdmitted
		if e.Type() == events.TypeWorkloadAdmitted {
			require.NoError(t, json.Unmarshal(e.Data(), &a))
			if a.WorkloadID == "late" {
				admitted++
			}
		}
	}
	assert.Equal(t, 1, admitted, "admitted (and run) once")
}
