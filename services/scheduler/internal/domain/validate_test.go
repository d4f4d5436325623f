package domain

import (
	"errors"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestSubmitRejectsBadInput(t *testing.T) {
	s, err := NewState(Config{}, []Pool{pool("p", Vector{"cpu": 8, "memory": 16})}, []Team{{Name: "a"}})
	require.NoError(t, err)
	require.NoError(t, s.Submit(job("known", nil)))
	with := func(f func(*Workload)) Workload { w := job("w", nil); f(&w); return w }
	tests := []struct {
		name      string
		give      []Workload
		wantField string
		wantErr   error
	}{
		{"unknown pool", []Workload{with(func(w *Workload) { w.Pool = "gpu" })}, "pool", ErrUnknownPool},
		{"unknown team", []Workload{with(func(w *Workload) { w.Team = "z" })}, "team", ErrUnknownTeam},
		{"negative demand", []Workload{with(func(w *Workload) { w.Demand = Vector{"cpu": -1} })}, "demand.cpu", ErrNegativeDemand},
		{"empty demand", []Workload{with(func(w *Workload) { w.Demand = nil })}, "demand", ErrEmptyDemand},
		{"zero demand", []Workload{with(func(w *Workload) { w.Demand = Vector{"cpu": 0} })}, "demand", ErrEmptyDemand},
		{"demand larger than pool", []Workload{with(func(w *Workload) { w.Demand = Vector{"memory": 17} })}, "demand.memory", ErrDemandExceedsPool},
		{"resource the pool lacks", []Workload{with(func(w *Workload) { w.Demand = Vector{"gpu": 1} })}, "demand.gpu", ErrDemandExceedsPool},
		{"unknown dependency", []Workload{job("w", []string{"known", "ghost"})}, "dependsOn[1]", ErrUnknownDependency},
		{"self dependency", []Workload{job("w", []string{"w"})}, "dependsOn[0]", ErrDependencyCycle},
		{"dependency cycle", []Workload{job("x", []string{"y"}), job("y", []string{"z"}), job("z", []string{"x"})}, "dependsOn", ErrDependencyCycle},
		{"duplicate id", []Workload{job("known", nil)}, "id", ErrDuplicateID},
		{"missing id", []Workload{with(func(w *Workload) { w.ID = "" })}, "id", ErrRequired},
		{"bad kind", []Workload{with(func(w *Workload) { w.Kind = "daemon" })}, "kind", ErrInvalid},
		{"min above max runtime", []Workload{with(func(w *Workload) { w.MinRuntime, w.MaxRuntime = time.Hour, time.Minute })}, "maxRuntime", ErrInvalid},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := s.Submit(tt.give...)
			var fe *FieldError
			require.ErrorAs(t, err, &fe)
			assert.Equal(t, tt.wantField, fe.Field)
			assert.ErrorIs(t, err, tt.wantErr)
		})
	}
}

func TestSubmitIsAllOrNothing(t *testing.T) {
	s, err := NewState(Config{}, []Pool{pool("p", cpu(8))}, []Team{{Name: "a"}})
	require.NoError(t, err)
	bad := job("bad", nil)
	bad.Pool = "nowhere"
	require.Error(t, s.Submit(job("good", nil), bad))
	assert.Equal(t, StatusUnknown, s.Status("good"))
	require.NoError(t, s.Submit(job("child", []string{"parent"}), job("parent", nil)), "forward reference in a batch")
}

func TestNewStateRejectsBadConfig(t *testing.T) {
	tests := []struct {
		name      string
		givePools []Pool
		giveTeams []Team
		wantField string
		wantErr   error
	}{
		{"pool without capacity", []Pool{{Name: "p"}}, nil, "capacity", ErrRequired},
		{"negative capacity", []Pool{pool("p", cpu(-1))}, nil, "capacity.cpu", ErrNegativeDemand},
		{"quota in unknown pool", []Pool{pool("p", cpu(1))}, []Team{{Name: "a", Nominal: map[string]Vector{"q": cpu(1)}}}, "nominal.q", ErrUnknownPool},
		{"negative weight", []Pool{pool("p", cpu(1))}, []Team{{Name: "a", Weight: -1}}, "weight", ErrInvalid},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := NewState(Config{}, tt.givePools, tt.giveTeams)
			var fe *FieldError
			require.True(t, errors.As(err, &fe), "got %v", err)
			assert.Equal(t, tt.wantField, fe.Field)
			assert.ErrorIs(t, err, tt.wantErr)
		})
	}
}

func job(id string, deps []string) Workload {
	return Workload{ID: id, Team: "a", Pool: "p", Demand: cpu(1), DependsOn: deps, Kind: KindJob, SubmittedAt: t0}
}
