package sim

import (
	"math/rand/v2"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/pave-platform/pave/services/scheduler/internal/domain"
)

func TestJain(t *testing.T) {
	tests := []struct {
		give []float64
		want float64
	}{
		{give: []float64{0.3, 0.3, 0.3}, want: 1},
		{give: []float64{1, 0, 0, 0}, want: 0.25},
		{give: []float64{0.2, 0.2, 0.2, 0.2, 0}, want: 0.8},
		{give: []float64{1, 2}, want: 9.0 / 10},
		{give: nil, want: 1},
	}
	for _, tt := range tests {
		assert.InDelta(t, tt.want, Jain(tt.give), 1e-12, "%v", tt.give)
	}
}

func TestPercentileIsNearestRank(t *testing.T) {
	ds := make([]time.Duration, 200)
	for i := range ds {
		ds[i] = time.Duration(200-i) * time.Second
	}
	tests := []struct {
		give float64
		want time.Duration
	}{
		{give: 99, want: 198 * time.Second},
		{give: 50, want: 100 * time.Second},
		{give: 100, want: 200 * time.Second},
		{give: 0.1, want: time.Second},
	}
	for _, tt := range tests {
		assert.Equal(t, tt.want, Percentile(ds, tt.give), "p%v", tt.give)
	}
	assert.Zero(t, Percentile(nil, 99))
}

func TestGenerate(t *testing.T) {
	streams := []Stream{
		{Team: "a", Pool: "p", Demands: []domain.Vector{cpu(1), cpu(2)}, RuntimeMin: time.Minute,
			RuntimeMax: 3 * time.Minute, Count: 100, Every: 10 * time.Second, Poisson: true},
		{Name: "burst", Team: "b", Pool: "p", Demands: []domain.Vector{cpu(4)}, RuntimeMin: time.Second,
			Count: 10, Start: time.Hour, Preemptible: true, MinRuntime: time.Minute},
	}
	jobs := Generate(Epoch, rand.New(rand.NewPCG(1, 1)), streams...)
	require.Len(t, jobs, 110)
	assert.Equal(t, jobs, Generate(Epoch, rand.New(rand.NewPCG(1, 1)), streams...), "same seed, same jobs")
	for i, j := range jobs {
		if i > 0 {
			assert.False(t, j.SubmittedAt.Before(jobs[i-1].SubmittedAt), "in arrival order")
		}
		switch j.Team {
		case "a":
			assert.True(t, j.Runtime >= time.Minute && j.Runtime <= 3*time.Minute && j.Runtime%time.Second == 0, "%v", j.Runtime)
			assert.Less(t, j.SubmittedAt, Epoch.Add(time.Hour))
		case "b":
			assert.Equal(t, Epoch.Add(time.Hour), j.SubmittedAt)
			assert.Equal(t, []any{time.Second, true, time.Minute, domain.KindJob}, []any{j.Runtime, j.Preemptible, j.MinRuntime, j.Kind})
		}
	}
	assert.Equal(t, "burst-9", jobs[len(jobs)-1].ID)
}
