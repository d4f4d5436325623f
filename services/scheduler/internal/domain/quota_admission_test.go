package domain

import (
	"errors"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// Issue 16, finding 4: a developer's workload of {ops: 8, environments:
// 180} in the platform pool was admitted beyond the team's quota and held
// every other team's environments. With EnforceQuotas it is refused at
// submit, naming the field.
func TestSubmitKeepsEveryWorkloadWithinItsTeamsQuota(t *testing.T) {
	platform := Pool{Name: "platform", Capacity: Vector{"environments": 200, "ops": 8}}
	batch := Pool{Name: "batch", Capacity: Vector{"cpu": 8000}}
	teams := []Team{
		{Name: "dev", Nominal: map[string]Vector{"platform": {"environments": 10, "ops": 2}}},
		{Name: "capped", Nominal: map[string]Vector{"batch": {"cpu": 1000}}, BorrowingLimit: map[string]Vector{"batch": {"cpu": 500}}},
	}
	tests := []struct {
		name  string
		give  Workload
		field string
		err   error
	}{
		{"the attack", Workload{Team: "dev", Pool: "platform", Demand: Vector{"ops": 8, "environments": 180}}, "demand.environments", ErrBorrowNotPreemptible},
		{"no quota in the pool", Workload{Team: "dev", Pool: "batch", Demand: Vector{"cpu": 1}}, "pool", ErrNoQuota},
		{"beyond nominal + borrowing limit", Workload{Team: "capped", Pool: "batch", Demand: Vector{"cpu": 1600}, Preemptible: true}, "demand.cpu", ErrDemandExceedsQuota},
		{"borrowing, not preemptible", Workload{Team: "capped", Pool: "batch", Demand: Vector{"cpu": 1200}}, "demand.cpu", ErrBorrowNotPreemptible},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, err := NewState(Config{EnforceQuotas: true}, []Pool{platform, batch}, teams)
			require.NoError(t, err)
			w := tt.give
			w.ID, w.Kind, w.SubmittedAt = "w", KindJob, time.Unix(0, 0)
			err = s.Submit(w)
			var fe *FieldError
			require.True(t, errors.As(err, &fe), "err %v", err)
			assert.Equal(t, tt.field, fe.Field)
			assert.ErrorIs(t, err, tt.err)
			assert.Equal(t, StatusUnknown, s.Status("w"), "nothing refused is queued")
		})
	}
	s, err := NewState(Config{EnforceQuotas: true}, []Pool{platform, batch}, teams)
	require.NoError(t, err)
	ok := Workload{ID: "ok", Team: "capped", Pool: "batch", Kind: KindJob, Demand: Vector{"cpu": 1500}, Preemptible: true}
	require.NoError(t, s.Submit(ok), "preemptible work borrows up to nominal + borrowing limit")
}

// Work that is not preemptible is admitted only within its team's
// nominal quota, counting what the team already runs: borrowed capacity
// is always preemptible.
func TestWorkThatIsNotPreemptibleNeverBorrows(t *testing.T) {
	nominal := map[string]Vector{"p": cpu(2)}
	m := newSim(t, Config{EnforceQuotas: true}, []Pool{pool("p", cpu(8))}, []Team{{Name: "a", Nominal: nominal}, {Name: "b", Nominal: nominal}})
	firm := m.submit("a", "p", 4, cpu(1), nil)
	soft := m.submit("a", "p", 2, cpu(1), preemptible(0))
	m.step()
	assert.Equal(t, StatusAdmitted, m.s.Status(firm[0]))
	assert.Equal(t, StatusAdmitted, m.s.Status(firm[1]))
	assert.Equal(t, StatusQueued, m.s.Status(firm[2]), "a third firm cpu would be borrowed")
	assert.Contains(t, m.reason(firm[2]), "only preemptible work borrows")
	assert.Equal(t, StatusAdmitted, m.s.Status(soft[0]), "preemptible work borrows idle capacity")
	assert.Equal(t, StatusAdmitted, m.s.Status(soft[1]))
}
