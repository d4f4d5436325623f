package adapters_test

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/pave-platform/pave/services/scheduler/internal/adapters"
)

// Quotas are enforced unless the file turns them off (issue 16, finding
// 4), and each pool says which workload kinds it serves.
func TestPoolsFileEnforcesQuotasByDefaultAndNamesKinds(t *testing.T) {
	const base = "pools:\n  - name: platform\n    capacity: {ops: 1}\n    kinds: [environment]\n  - name: any\n    capacity: {cpu: 1}\n"
	tests := []struct {
		give string
		want bool
	}{
		{give: base, want: true},
		{give: "enforceQuotas: true\n" + base, want: true},
		{give: "enforceQuotas: false\n" + base, want: false},
	}
	for _, tt := range tests {
		cfg, err := adapters.ParsePools([]byte(tt.give))
		require.NoError(t, err)
		assert.Equal(t, tt.want, cfg.Core.EnforceQuotas, tt.give)
		assert.False(t, cfg.Serves("platform", "job"))
		assert.True(t, cfg.Serves("platform", "environment"))
		assert.True(t, cfg.Serves("any", "job"), "a pool without kinds serves both")
		assert.True(t, cfg.Serves("added-by-api", "job"))
	}
	_, err := adapters.ParsePools([]byte("pools:\n  - name: p\n    capacity: {cpu: 1}\n    kinds: [jobs]\n"))
	require.Error(t, err)
	assert.Contains(t, err.Error(), "pools[0].kinds[0]")
}
