package cost

import (
	"context"
	"encoding/json"
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/pave-platform/pave/pkg/events"
	"github.com/pave-platform/pave/pkg/rpc"
	"github.com/pave-platform/pave/services/cost/internal/domain"
)

// setBudget puts team pay's monthly budget and answers its view.
func (h *harness) setBudget(amount string) map[string]any {
	h.t.Helper()
	req := rpc.Request{Principal: admin, Path: map[string]string{"team": "pay"},
		Body: json.RawMessage(`{"amount":"` + amount + `","period":"monthly"}`)}
	rep, err := rpc.Call(context.Background(), h.nc, rpc.BudgetsPut, req)
	require.NoError(h.t, err)
	require.Equal(h.t, http.StatusOK, rep.Status, "%+v", rep.Problem)
	var b map[string]any
	require.NoError(h.t, json.Unmarshal(rep.Body, &b))
	return b
}

// budget is GET /v1/budgets/pay.
func (h *harness) budget() map[string]any {
	h.t.Helper()
	req := rpc.Request{Principal: admin, Path: map[string]string{"team": "pay"}}
	rep, err := rpc.Call(context.Background(), h.nc, rpc.BudgetsGet, req)
	require.NoError(h.t, err)
	require.Equal(h.t, http.StatusOK, rep.Status, "%+v", rep.Problem)
	var b map[string]any
	require.NoError(h.t, json.Unmarshal(rep.Body, &b))
	return b
}

// gate sends the budget gate a create of env with one redis small and
// waits for its answer.
func (h *harness) gate(answers *watcher, env string) events.CostCheck {
	h.t.Helper()
	id := env + ".create.1"
	h.publish(id+"/budget/1", events.TypeCostCheckCommand, now, events.CostCheckCommand{
		Saga: events.Saga{ID: id, Step: "budget", Attempt: 1}, EnvironmentID: env, Team: "pay", Operation: "create",
		Resources: []events.CostResource{{ID: env + "-cache", Name: "cache", Driver: "redis", Class: "small"}}})
	var c events.CostCheck
	ok := assert.Eventually(h.t, func() bool {
		answers.mu.Lock()
		defer answers.mu.Unlock()
		for i, raw := range answers.msgs {
			if json.Unmarshal(raw, &c) == nil && c.Saga.ID == id {
				// The saga is the answer's subject: lifecycle's consumer
				// handles different sagas' answers side by side.
				assert.Equal(h.t, id, answers.subjects[i], "CloudEvent subject of the answer")
				return true
			}
		}
		return false
	}, 30*time.Second, 20*time.Millisecond)
	require.True(h.t, ok, "no answer from the budget gate to %s", id)
	require.NotNil(h.t, c.Budget, "the answer carries the budget's figures")
	return c
}

// indexed waits until the index holds saga's plan, so that an answer
// read after it counts (or leaves out) that plan.
func (h *harness) indexed(saga string) {
	h.t.Helper()
	ok := assert.Eventually(h.t, func() bool {
		var found bool
		h.svc.index.Read(func(s domain.Snapshot, _ []domain.Line) { _, found = s.Plans[saga] })
		return found
	}, 30*time.Second, 20*time.Millisecond)
	require.True(h.t, ok, "the index never held the plan of %s", saga)
}

// TestBudgetReadsTheSameInTheAPIAndTheGate reproduces issue 19's finding
// 8: the budget API answered the budget less the spend (0.40 here) where
// the gate answered it less the spend and what running environments
// commit until the period ends (−12.20). Both now read one computation.
//
// At 2025-03-11T00:00Z a postgres small has run 24 h (0.60 spent) and
// commits 21 days × 24 h × 0.025 = 12.60 until April; a redis small asks
// for 504 h × 0.015 = 7.56.
func TestBudgetReadsTheSameInTheAPIAndTheGate(t *testing.T) {
	h := newHarness(t)
	h.start()
	answers := h.watch("pave.evt.cost.check.>")
	h.publish("r1", events.TypeCostCheckCommand, t0, events.CostCheckCommand{
		Saga: events.Saga{ID: "env-r.create.1", Step: "budget", Attempt: 1}, EnvironmentID: "env-r", Team: "pay",
		Operation: "create", Resources: []events.CostResource{{ID: "env-r-db", Name: "db", Driver: "postgres", Class: "small"}}})
	h.publish("r2", events.TypeEnvironmentTransitioned, t0, events.EnvironmentTransitioned{EnvironmentID: "env-r", Team: "pay",
		Name: "orders", Template: "postgres-db", Version: "1.0.0", Stage: "dev", From: "provisioning", To: "ready", Revision: 1, Seq: 3, At: t0})
	h.publish("r3", events.TypeResourceProvisioned, t0, events.ResourceProvisioned{Saga: saga("env-r.create.1", false),
		EnvironmentID: "env-r", ResourceID: "env-r-db", Driver: "postgres", ExternalIDs: []string{}, Outputs: map[string]string{}})
	h.eventually(map[string]string{"window": "month"}, "0.60")

	b := h.setBudget("1.00")
	assert.Equal(t, "0.60", b["spent"])
	assert.Equal(t, "12.60", b["committed"])
	assert.Equal(t, "-12.20", b["remaining"], "the budget less the spend and the commitments")

	denied := h.gate(answers, "env-b")
	assert.Equal(t, domain.DecisionDenied, denied.Decision)
	assert.Equal(t, b["remaining"], denied.Budget.Remaining, "the gate reads what the API reads")
	assert.Equal(t, b["committed"], denied.Budget.Committed)
	assert.Equal(t, "7.56", denied.Budget.Requested)

	h.indexed("env-b.create.1")
	assert.Equal(t, "-12.20", h.budget()["remaining"], "a denied plan commits nothing")

	b = h.setBudget("100.00")
	allowed := h.gate(answers, "env-c")
	assert.Equal(t, domain.DecisionAllowed, allowed.Decision)
	assert.Equal(t, b["remaining"], allowed.Budget.Remaining)
	assert.Equal(t, "86.80", allowed.Budget.Remaining)

	h.indexed("env-c.create.1")
	after := h.budget()
	assert.Equal(t, "79.24", after["remaining"], "the allowed plan commits its 7.56 while env-c is built")
	next := h.gate(answers, "env-d")
	assert.Equal(t, after["remaining"], next.Budget.Remaining, "the next check reads what the API reads")
	assert.Equal(t, after["committed"], next.Budget.Committed)
}
