package domain_test

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/pave-platform/pave/services/scheduler/internal/sim"
)

// Jain's index of the backlogged teams' weighted dominant shares, sampled
// every virtual second of the saturated mixed run (sim.RunFairness: four
// teams with different weights, job shapes and runtimes, no quotas, then a
// fifth team arriving late). The run is deterministic, so the thresholds
// are on exact figures; schedbench prints them.
//
// Discrete job sizes keep the shares from being exactly equal, so the
// index of the steady state is just under 1. A late team without
// preemption starts from nothing and grows as jobs finish: the index of
// five teams is 4/5 at the instant it arrives, so for that run the 0.95
// target applies from one maximum runtime after the arrival; with
// preemptible work it applies from the arrival on.
//
// Starvation reservations (the shipped starvationAfter of 2m, against jobs
// of up to 10m) must not change that: under saturation almost every wait
// passes the bound, and the reservations follow the fair order.
func TestJainFairnessOfSaturatedMixedRun(t *testing.T) {
	tests := []struct {
		name        string
		preemptible bool
		starve      time.Duration
	}{
		{name: "not preemptible"},
		{name: "preemptible", preemptible: true},
		{name: "not preemptible, starvationAfter 2m", starve: 2 * time.Minute},
		{name: "preemptible, starvationAfter 2m", preemptible: true, starve: 2 * time.Minute},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			r, err := sim.RunFairness(sim.FairnessOptions{Preemptible: tt.preemptible, StarvationAfter: tt.starve, Seed: 1})
			require.NoError(t, err)
			require.True(t, r.Backlogged, "every team had work queued at every sample")

			assert.GreaterOrEqual(t, r.Steady.Min, 0.99, "steady state")
			assert.GreaterOrEqual(t, r.Steady.Mean, 0.99, "steady state")
			assert.GreaterOrEqual(t, r.Settled.Min, 0.95, "from one maximum runtime after the late arrival")
			if tt.preemptible {
				assert.GreaterOrEqual(t, r.Arrival.Min, 0.95, "within one maximum runtime of the late arrival")
			}
		})
	}
}
