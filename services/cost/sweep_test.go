package cost

import (
	"context"
	"fmt"
	"net/http"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/pave-platform/pave/pkg/events"
	"github.com/pave-platform/pave/pkg/rpc"
	"github.com/pave-platform/pave/services/cost/internal/adapters"
	"github.com/pave-platform/pave/services/cost/internal/domain"
)

// environment sends what cost learns of one environment of team pay with
// a postgres small: its check, its transition to ready and its resource
// provisioned at t0.
func (h *harness) environment(env, name string) {
	h.t.Helper()
	id := env + ".create.1"
	h.publish(env+"/check", events.TypeCostCheckCommand, t0, events.CostCheckCommand{
		Saga: events.Saga{ID: id, Step: "budget", Attempt: 1}, EnvironmentID: env, Team: "pay", Operation: "create",
		Resources: []events.CostResource{{ID: env + "-db", Name: "db", Driver: "postgres", Class: "small"}}})
	h.publish(env+"/ready", events.TypeEnvironmentTransitioned, t0, events.EnvironmentTransitioned{EnvironmentID: env,
		Team: "pay", Name: name, Template: "postgres-db", Version: "1.0.0", Stage: "dev", From: "provisioning", To: "ready",
		Revision: 1, Seq: 3, At: t0})
	h.publish(env+"/provisioned", events.TypeResourceProvisioned, t0, events.ResourceProvisioned{Saga: saga(id, false),
		EnvironmentID: env, ResourceID: env + "-db", Driver: "postgres", ExternalIDs: []string{}, Outputs: map[string]string{}})
}

// TestClosedMetersLeaveTheBucketAndMemory reproduces issue 15's "cost
// loads every meter ever": a meter closed longer ago than the retention
// (32 days here) stayed in COST_METERS and in memory for ever, and every
// start read it. Now a sweep forgets it, with its plan and its deleted
// environment, and leaves no marker behind; what still runs stays; a
// window older than the retention is refused instead of answered short.
func TestClosedMetersLeaveTheBucketAndMemory(t *testing.T) {
	h := newHarness(t)
	h.cfg.MeterRetention = 32 * 24 * time.Hour
	set := h.settableClock()
	h.start()

	h.environment("env-o", "old")
	h.publish("env-o/deprovisioned", events.TypeResourceDeprovisioned, t0.Add(time.Hour), events.ResourceDeprovisioned{
		Saga: saga("env-o.teardown.2", false), EnvironmentID: "env-o", ResourceID: "env-o-db", Existed: true})
	h.publish("env-o/deleted", events.TypeEnvironmentTransitioned, t0.Add(time.Hour), events.EnvironmentTransitioned{
		EnvironmentID: "env-o", Team: "pay", Name: "old", Template: "postgres-db", Version: "1.0.0", Stage: "dev",
		From: "decommissioning", To: "deleted", Revision: 1, Seq: 6, At: t0.Add(time.Hour)})
	h.environment("env-l", "live")
	h.eventually(day, "0.63") // old 1 h and live 24 h at 0.025
	require.Eventually(t, func() bool { return h.sizes() == [4]int{2, 0, 2, 2} }, 10*time.Second, 20*time.Millisecond,
		"meters in memory: %v", h.sizes())

	n, err := h.svc.app.Sweep(context.Background())
	require.NoError(t, err)
	assert.Zero(t, n, "nothing closed 32 days ago yet")

	set(now.Add(33 * 24 * time.Hour))
	n, err = h.svc.app.Sweep(context.Background())
	require.NoError(t, err)
	assert.Equal(t, 3, n, "the old resource, its plan and its deleted environment")
	assert.Equal(t, [4]int{1, 0, 1, 1}, h.sizes(), "resources, jobs, plans, environments in memory")
	assert.ElementsMatch(t, []string{"res.env-l-db", "plan.env-l.create.1", "env.env-l"}, h.meterKeys())
	assert.Equal(t, uint64(3), h.meterMessages(), "no delete markers are left")

	h.stop()
	h.start()
	assert.Equal(t, [4]int{1, 0, 1, 1}, h.sizes(), "a start reads only what is kept")
	// The live database still bills: 30 days at 0.025 an hour.
	assert.Equal(t, "18.00", h.total(map[string]string{"window": "30d"}))

	for _, subject := range []string{rpc.CostsQuery, rpc.CostsExport} {
		rep := h.call(subject, map[string]string{"format": "focus", "window": day["window"]}, nil)
		require.Equal(t, http.StatusUnprocessableEntity, rep.Status, subject)
		require.NotNil(t, rep.Problem)
		assert.Equal(t, "window", rep.Problem.Errors[0].Field)
		assert.Contains(t, rep.Problem.Errors[0].Message, "PAVE_COST_METER_RETENTION=768h")
	}
}

func (h *harness) sizes() [4]int {
	r, j, p, e := h.svc.index.Size()
	return [4]int{r, j, p, e}
}

func (h *harness) meterKeys() []string {
	h.t.Helper()
	kv, err := h.bus.JetStream().KeyValue(context.Background(), adapters.MetersBucket)
	require.NoError(h.t, err)
	lister, err := kv.ListKeys(context.Background())
	require.NoError(h.t, err)
	var keys []string
	for k := range lister.Keys() {
		keys = append(keys, k)
	}
	return keys
}

func (h *harness) meterMessages() uint64 {
	h.t.Helper()
	st, err := h.bus.JetStream().Stream(context.Background(), "KV_"+adapters.MetersBucket)
	require.NoError(h.t, err)
	info, err := st.Info(context.Background())
	require.NoError(h.t, err)
	return info.State.Msgs
}

// TestMetersReturnToTheirSizeAfterCycles: issue 15's "memory tracks what
// is live" for cost. Rounds of environments created and deleted (each
// round new ids) leave the meters in memory and in COST_METERS where they
// were once the sweep has passed: nothing of a closed, swept round stays.
func TestMetersReturnToTheirSizeAfterCycles(t *testing.T) {
	h := newHarness(t)
	h.cfg.MeterRetention = 32 * 24 * time.Hour
	later := now.Add(33 * 24 * time.Hour)
	set := h.settableClock()
	h.start()

	h.environment("env-l", "live")
	base := [4]int{1, 0, 1, 1}
	require.Eventually(t, func() bool { return h.sizes() == base }, 10*time.Second, 20*time.Millisecond,
		"meters in memory: %v, want %v", h.sizes(), base)
	baseMsgs := h.meterMessages()

	const rounds, perRound = 4, 15
	for r := range rounds {
		set(now) // the checks are planned now, the sweep runs past the retention
		for i := range perRound {
			env := fmt.Sprintf("env-r%d-%d", r, i)
			h.environment(env, env)
			h.publish(env+"/deprovisioned", events.TypeResourceDeprovisioned, t0.Add(time.Hour), events.ResourceDeprovisioned{
				Saga: saga(env+".teardown.2", false), EnvironmentID: env, ResourceID: env + "-db", Existed: true})
			h.publish(env+"/deleted", events.TypeEnvironmentTransitioned, t0.Add(time.Hour), events.EnvironmentTransitioned{
				EnvironmentID: env, Team: "pay", Name: env, Template: "postgres-db", Version: "1.0.0", Stage: "dev",
				From: "decommissioning", To: "deleted", Revision: 1, Seq: 6, At: t0.Add(time.Hour)})
		}
		grown := [4]int{1 + perRound, 0, 1 + perRound, 1 + perRound}
		require.Eventually(t, func() bool {
			return h.sizes() == grown && h.expired(later.Add(-h.cfg.MeterRetention)) == 3*perRound
		}, 30*time.Second, 20*time.Millisecond, "round %d: meters in memory %v, want %v with %d expired (expired: %d)",
			r, h.sizes(), grown, 3*perRound, h.expired(later.Add(-h.cfg.MeterRetention)))

		set(later)
		n, err := h.svc.app.Sweep(context.Background())
		require.NoError(t, err)
		assert.Equal(t, 3*perRound, n, "round %d: each environment's resource, plan and environment", r)
		require.Equal(t, base, h.sizes(), "round %d: meters in memory after the sweep", r)
		require.Equal(t, baseMsgs, h.meterMessages(), "round %d: messages in COST_METERS after the sweep", r)
	}
	assert.ElementsMatch(t, []string{"res.env-l-db", "plan.env-l.create.1", "env.env-l"}, h.meterKeys())
}

// expired counts the meters in memory that a sweep at horizon would forget.
func (h *harness) expired(horizon time.Time) int {
	var n int
	h.svc.index.Read(func(s domain.Snapshot, _ []domain.Line) { n = domain.ExpiredAt(s, horizon).Len() })
	return n
}

// settableClock makes the harness's clock read what the returned set was
// last given, starting at now; call it before start.
func (h *harness) settableClock() (set func(time.Time)) {
	var clock atomic.Pointer[time.Time]
	set = func(at time.Time) { clock.Store(&at) }
	set(now)
	h.clock = func() time.Time { return *clock.Load() }
	return set
}
