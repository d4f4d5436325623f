package sim

import (
	"math"
	"sort"
	"time"
)

// Jain is Jain's fairness index of xs, (Σx)² / (n·Σx²): 1 when all are
// equal, 1/n when one has everything. An empty or all-zero input is
// perfectly fair.
func Jain(xs []float64) float64 {
	sum, sq := 0.0, 0.0
	for _, x := range xs {
		sum += x
		sq += x * x
	}
	if sq == 0 {
		return 1
	}
	return sum * sum / (float64(len(xs)) * sq)
}

// BackloggedShares lists the weighted dominant shares of the teams of a
// sample that have eligible work queued, in team-name order.
func BackloggedShares(s Sample) []float64 {
	var out []float64
	for _, t := range s.Teams {
		if t.Backlog > 0 {
			out = append(out, t.Share)
		}
	}
	return out
}

// Percentile is the p-th percentile (0 < p ≤ 100) of ds by the
// nearest-rank method; zero for no data.
func Percentile(ds []time.Duration, p float64) time.Duration {
	if len(ds) == 0 {
		return 0
	}
	sorted := append([]time.Duration(nil), ds...)
	sort.Slice(sorted, func(i, j int) bool { return sorted[i] < sorted[j] })
	rank := int(math.Ceil(p / 100 * float64(len(sorted))))
	return sorted[min(max(rank, 1), len(sorted))-1]
}

// Waits lists the first waits of the admitted jobs that keep returns true
// for.
func Waits(records []*Record, keep func(*Record) bool) []time.Duration {
	var out []time.Duration
	for _, r := range records {
		if d, ok := r.Wait(); ok && keep(r) {
			out = append(out, d)
		}
	}
	return out
}

// Summary is the minimum and mean of a series.
type Summary struct {
	Min, Mean float64
	N         int
}

// Summarize folds xs into their minimum and mean.
func Summarize(xs []float64) Summary {
	if len(xs) == 0 {
		return Summary{}
	}
	s := Summary{Min: math.Inf(1), N: len(xs)}
	for _, x := range xs {
		s.Min = math.Min(s.Min, x)
		s.Mean += x
	}
	s.Mean /= float64(len(xs))
	return s
}
