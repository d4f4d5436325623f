package scheduler_test

import (
	"net/http"
	"os"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/pave-platform/pave/pkg/rpc"
)

// Issue 16, finding 4, through the scheduler's submit: with enforceQuotas
// a developer's {ops: 8, environments: 180} in the platform pool is a 422
// naming the demand, and a pool the team has no quota in is a 422 naming
// the pool.
func TestSubmitBeyondTheTeamsQuotaIsRefused(t *testing.T) {
	h := newHarness(t)
	require.NoError(t, os.WriteFile(h.file, []byte("enforceQuotas: true\n"+pools[1:]+`  - name: c
    nominal: {batch: {cpu: 1, memory: 1}}
`), 0o600))
	h.start()

	attack := map[string]any{"id": "grab", "team": "a", "pool": "platform",
		"demand": map[string]int{"ops": 8, "environments": 10}, "job": map[string]any{"command": "true"}}
	rep := h.call(rpc.WorkloadsSubmit, member("a"), nil, attack)
	require.Equal(t, http.StatusUnprocessableEntity, rep.Status, "%s", rep.Body)
	require.NotNil(t, rep.Problem)
	assert.Contains(t, []string{"demand.ops", "demand.environments"}, rep.Problem.Errors[0].Field)

	rep = h.call(rpc.WorkloadsSubmit, member("c"), nil, map[string]any{"id": "elsewhere", "team": "c",
		"pool": "platform", "demand": map[string]int{"ops": 1}, "job": map[string]any{"command": "true"}})
	require.Equal(t, http.StatusUnprocessableEntity, rep.Status, "%s", rep.Body)
	assert.Equal(t, "pool", rep.Problem.Errors[0].Field)

	code, _ := h.get("grab", admin)
	assert.Equal(t, http.StatusNotFound, code, "nothing refused was queued")
}

// Issue 16, finding 4, as an attack on the shipped pools file (quotas are
// enforced by default): a developer asks for the whole environment pool
// as a job. It is refused with a 422 and nothing is queued; a job in the
// environment pool is refused even when it is small (no runner serves
// that pool), and so is a demand beyond nominal + borrowing limit in the
// job pool, while a preemptible job may borrow within the limit.
func TestAttackDeveloperTakesTheEnvironmentPool(t *testing.T) {
	h := newHarness(t)
	shipped, err := os.ReadFile("../../deploy/scheduler/pools.yaml")
	require.NoError(t, err)
	require.NotRegexp(t, `(?m)^enforceQuotas:\s*false`, string(shipped), "the shipped file enforces quotas")
	require.NoError(t, os.WriteFile(h.file, shipped, 0o600))
	h.start()
	dev := member("mallory")

	attack := map[string]any{"id": "grab-all", "team": "mallory", "pool": "platform",
		"demand": map[string]int{"ops": 8, "environments": 180}, "job": map[string]any{"command": "true"}}
	rep := h.call(rpc.WorkloadsSubmit, dev, nil, attack)
	require.Equal(t, http.StatusUnprocessableEntity, rep.Status, "%s", rep.Body)
	require.NotNil(t, rep.Problem)
	assert.Equal(t, "pool", rep.Problem.Errors[0].Field, "%+v", rep.Problem)

	small := map[string]any{"id": "small", "team": "mallory", "pool": "platform",
		"demand": map[string]int{"ops": 1}, "job": map[string]any{"command": "true"}}
	rep = h.call(rpc.WorkloadsSubmit, dev, nil, small)
	require.Equal(t, http.StatusUnprocessableEntity, rep.Status, "%s", rep.Body)
	assert.Equal(t, "pool", rep.Problem.Errors[0].Field)
	assert.Contains(t, rep.Problem.Errors[0].Message, "does not take job workloads")

	// The environment kind within the default quota is taken; beyond it,
	// refused naming the demand.
	env := map[string]any{"id": "env-all", "team": "mallory", "pool": "platform", "kind": "environment",
		"demand": map[string]int{"ops": 8, "environments": 180}}
	rep = h.call(rpc.WorkloadsSubmit, dev, nil, env)
	require.Equal(t, http.StatusUnprocessableEntity, rep.Status, "%s", rep.Body)
	assert.Contains(t, []string{"demand.ops", "demand.environments"}, rep.Problem.Errors[0].Field)

	big := map[string]any{"id": "big", "team": "mallory", "pool": "batch", "preemptible": true,
		"demand": map[string]int{"cpu": 8000}, "job": map[string]any{"command": "true"}}
	rep = h.call(rpc.WorkloadsSubmit, dev, nil, big)
	require.Equal(t, http.StatusUnprocessableEntity, rep.Status, "%s", rep.Body)
	assert.Equal(t, "demand.cpu", rep.Problem.Errors[0].Field)

	borrow := map[string]any{"id": "borrow", "team": "mallory", "pool": "batch", "preemptible": true,
		"demand": map[string]int{"cpu": 3000, "memory": 256}, "job": map[string]any{"command": "true"}}
	rep = h.call(rpc.WorkloadsSubmit, dev, nil, borrow)
	require.Equal(t, http.StatusAccepted, rep.Status, "%s", rep.Body)
	h.waitState("borrow", "admitted")

	for _, id := range []string{"grab-all", "small", "env-all", "big"} {
		code, _ := h.get(id, admin)
		assert.Equal(t, http.StatusNotFound, code, "%s: nothing refused was queued", id)
	}
}
