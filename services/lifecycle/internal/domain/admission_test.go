package domain_test

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/pave-platform/pave/services/lifecycle/internal/domain"
)

func queuedEnv(t *testing.T) domain.Environment {
	t.Helper()
	env, err := newEnv(t, "svc", map[string]any{"service": "shop"}).Queue("platform", t0)
	require.NoError(t, err)
	return env
}

func TestQueueWaitsForAdmissionInThePool(t *testing.T) {
	env := queuedEnv(t)

	assert.Equal(t, domain.StateQueued, env.State)
	assert.Equal(t, &domain.Admission{Pool: "platform"}, env.Admission)
	assert.Equal(t, "waiting for admission in pool platform", env.Reason)

	_, err := newEnv(t, "svc", map[string]any{"service": "shop"}).Queue("", t0)
	assert.ErrorIs(t, err, domain.ErrInvalid, "a create needs a pool to queue in")
}

func TestWaitForAdmissionShowsWhyAndWhere(t *testing.T) {
	tests := []struct {
		name     string
		reason   string
		position int
		want     string
	}{
		{"with position", "team quota exhausted for ops; borrowing limit reached", 3,
			"waiting for admission in pool platform: team quota exhausted for ops; borrowing limit reached (position 3)"},
		{"next in line", "pool platform is full", 1, "waiting for admission in pool platform: pool platform is full (position 1)"},
		{"position unknown", "waiting for dependency env-x to finish", 0,
			"waiting for admission in pool platform: waiting for dependency env-x to finish"},
	}
	base := queuedEnv(t)
	for _, tt := range tests {
		at := t0.Add(time.Minute)

		got, err := base.WaitForAdmission(tt.reason, tt.position, at, at.Add(time.Second))

		require.NoError(t, err, tt.name)
		assert.Equal(t, domain.StateQueued, got.State, tt.name)
		assert.Equal(t, tt.want, got.Reason, tt.name)
		assert.Equal(t, &domain.Admission{Pool: "platform", Waiting: tt.reason, Position: tt.position, ReportedAt: at}, got.Admission, tt.name)
		assert.Equal(t, at.Add(time.Second), got.UpdatedAt, tt.name)
	}
	assert.Equal(t, "waiting for admission in pool platform", base.Reason, "the receiver is not changed")
}

func TestWaitForAdmissionKeepsTheNewestReport(t *testing.T) {
	env, err := queuedEnv(t).WaitForAdmission("pool platform is full", 1, t0.Add(2*time.Minute), t0.Add(2*time.Minute))
	require.NoError(t, err)

	got, err := env.WaitForAdmission("team quota exhausted for ops", 4, t0.Add(time.Minute), t0.Add(3*time.Minute))

	assert.ErrorIs(t, err, domain.ErrStale)
	assert.Equal(t, env, got, "an older report changes nothing")
	assert.Equal(t, "waiting for admission in pool platform: pool platform is full (position 1)", got.Reason)
}

func TestMarkProvisioningEndsTheWait(t *testing.T) {
	env, err := queuedEnv(t).WaitForAdmission("pool platform is full", 1, t0, t0)
	require.NoError(t, err)

	got, err := env.MarkProvisioning(t0.Add(time.Hour))

	require.NoError(t, err)
	assert.Equal(t, domain.StateProvisioning, got.State)
	assert.Empty(t, got.Reason)
	assert.Equal(t, &domain.Admission{Pool: "platform", AdmittedAt: t0.Add(time.Hour)}, got.Admission)
	assert.Equal(t, "pool platform is full", env.Admission.Waiting, "the receiver is not changed")
}

func TestWaitForAdmissionOnlyWhileQueued(t *testing.T) {
	env, err := queuedEnv(t).MarkProvisioning(t0)
	require.NoError(t, err)

	got, err := env.WaitForAdmission("pool platform is full", 1, t0.Add(time.Minute), t0.Add(time.Minute))

	assert.ErrorIs(t, err, domain.ErrIllegalTransition, "a late report after the admission is refused")
	assert.Equal(t, env, got)
}
