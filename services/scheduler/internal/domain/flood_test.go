package domain_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/pave-platform/pave/services/scheduler/internal/sim"
)

// A team submitting 100 times as much as each light team (sim.RunFlood)
// leaves the light teams' p99 wait within 10% of the same run without the
// flood, under each way the pool can protect them. The light teams' own
// limits make them wait now and then in both runs, so the baseline p99 is
// not zero and the comparison means something.
//
// Each policy runs without starvation reservations and with the shipped
// starvationAfter of 2m: the flood's workloads pass the bound all the
// time, but a starving workload only holds capacity against work served
// after it in the fair order, and the light teams, with the smaller
// shares, are served before it.
func TestFloodLeavesLightTeamsP99WaitWithinTenPercent(t *testing.T) {
	tests := []struct {
		policy sim.FloodPolicy
		starve time.Duration
	}{
		{policy: sim.FloodFairShare},
		{policy: sim.FloodReclaim},
		{policy: sim.FloodGuaranteed},
		{policy: sim.FloodFairShare, starve: 2 * time.Minute},
		{policy: sim.FloodReclaim, starve: 2 * time.Minute},
		{policy: sim.FloodGuaranteed, starve: 2 * time.Minute},
	}
	for _, tt := range tests {
		t.Run(fmt.Sprintf("%s starvationAfter=%s", tt.policy, tt.starve), func(t *testing.T) {
			t.Parallel()
			base, err := sim.RunFlood(sim.FloodOptions{Policy: tt.policy, StarvationAfter: tt.starve, Seed: 1})
			require.NoError(t, err)
			flooded, err := sim.RunFlood(sim.FloodOptions{Policy: tt.policy, Flood: true, StarvationAfter: tt.starve, Seed: 1})
			require.NoError(t, err)

			require.Zero(t, base.NotAdmitted)
			assert.Zero(t, flooded.NotAdmitted, "light jobs never admitted")
			require.Greater(t, flooded.Stats.Admissions, base.Stats.Admissions, "the flood fills the spare capacity")
			want := sim.Percentile(base.Waits, 99)
			require.Positive(t, want)
			got := sim.Percentile(flooded.Waits, 99)
			assert.LessOrEqual(t, float64(got), 1.1*float64(want), "p99 %s with the flood, %s without", got, want)
		})
	}
}
