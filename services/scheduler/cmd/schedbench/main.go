// Command schedbench measures the scheduler's decision core and prints
// each figure as a line starting with RESULT:
//
//   - scheduler.core: decisions per second of Schedule over 1,000 teams
//     and 100,000 pending workloads (the state of BenchmarkSchedule), on
//     two cores of wall-clock time;
//   - scheduler.fairness and scheduler.fairness.late_arrival: Jain's index
//     of the backlogged teams' weighted dominant shares in a saturated
//     mixed run, sampled every virtual second (sim.RunFairness);
//   - scheduler.flood: the light teams' p99 wait beside a team submitting
//     100 times as much, against the same run without the flood
//     (sim.RunFlood).
//
// The simulations run in virtual time and are deterministic; each is run
// with starvation reservations off and with starvationAfter 2m, the value
// deploy/scheduler/pools.yaml ships. The figures are printed as measured,
// with the target beside them.
package main

import (
	"fmt"
	"io"
	"math"
	"os"
	"runtime"
	"time"

	"github.com/pave-platform/pave/services/scheduler/internal/domain"
	"github.com/pave-platform/pave/services/scheduler/internal/sim"
)

// shipped is the starvationAfter of deploy/scheduler/pools.yaml.
const shipped = 2 * time.Minute

func main() {
	runtime.GOMAXPROCS(2)
	if err := run(os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "schedbench:", err)
		os.Exit(1)
	}
}

func run(w io.Writer) error {
	if err := core(w); err != nil {
		return fmt.Errorf("core: %w", err)
	}
	for _, starve := range []time.Duration{0, shipped} {
		if err := fairness(w, starve); err != nil {
			return fmt.Errorf("fairness: %w", err)
		}
		for _, p := range []sim.FloodPolicy{sim.FloodFairShare, sim.FloodReclaim, sim.FloodGuaranteed} {
			if err := flood(w, p, starve); err != nil {
				return fmt.Errorf("flood %s: %w", p, err)
			}
		}
	}
	return nil
}

// core times whole passes over the large backlog for about three seconds.
func core(w io.Writer) error {
	s, now, err := sim.LargeBacklog()
	if err != nil {
		return err
	}
	domain.Schedule(s, now) // warm up
	decisions, passes := 0, 0
	start := time.Now()
	for passes < 3 || time.Since(start) < 3*time.Second {
		decisions += sim.Decisions(domain.Schedule(s, now))
		passes++
	}
	elapsed := time.Since(start)
	fmt.Fprintf(w, "RESULT scheduler.core decisions_per_s=%.0f pass_ms=%.1f decisions_per_pass=%d teams=1000 pending=100000 gomaxprocs=%d target>=50000\n",
		float64(decisions)/elapsed.Seconds(), float64(elapsed.Milliseconds())/float64(passes), decisions/passes,
		runtime.GOMAXPROCS(0))
	return nil
}

func fairness(w io.Writer, starve time.Duration) error {
	for _, preemptible := range []bool{false, true} {
		r, err := sim.RunFairness(sim.FairnessOptions{StarvationAfter: starve, Preemptible: preemptible, Seed: 1})
		if err != nil {
			return err
		}
		if !preemptible {
			fmt.Fprintf(w, "RESULT scheduler.fairness jain_steady_min=%.4f jain_steady_mean=%.4f samples=%d backlogged=%t starvation_after=%s target>=0.99\n",
				r.Steady.Min, r.Steady.Mean, r.Steady.N, r.Backlogged, starve)
		}
		fmt.Fprintf(w, "RESULT scheduler.fairness.late_arrival jain_min_within_max_runtime=%.4f jain_min_after_max_runtime=%.4f preemptible=%t starvation_after=%s target>=0.95\n",
			r.Arrival.Min, r.Settled.Min, preemptible, starve)
	}
	return nil
}

func flood(w io.Writer, p sim.FloodPolicy, starve time.Duration) error {
	var p99 [2]time.Duration
	var res [2]sim.FloodResult
	for i, flooded := range []bool{false, true} {
		r, err := sim.RunFlood(sim.FloodOptions{Policy: p, Flood: flooded, StarvationAfter: starve, Seed: 1})
		if err != nil {
			return err
		}
		res[i], p99[i] = r, sim.Percentile(r.Waits, 99)
	}
	fmt.Fprintf(w, "RESULT scheduler.flood light_p99_wait_s=%.1f baseline_p99_wait_s=%.1f ratio=%.3f light_never_admitted=%d/%d baseline_never_admitted=%d/%d policy=%s starvation_after=%s target<=1.10\n",
		p99[1].Seconds(), p99[0].Seconds(), ratio(p99[1], p99[0]), res[1].NotAdmitted, res[1].Submitted,
		res[0].NotAdmitted, res[0].Submitted, p, starve)
	return nil
}

// ratio is a/b; a wait where the baseline had none is infinitely worse.
func ratio(a, b time.Duration) float64 {
	switch {
	case a == b:
		return 1
	case b == 0:
		return math.Inf(1)
	}
	return float64(a) / float64(b)
}
