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
