package domain_test

import (
	"errors"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/pave-platform/pave/services/lifecycle/internal/domain"
)

// readyPreview is a pv environment (ttl 4h, max 24h) that is ready.
func readyPreview(t *testing.T) domain.Environment {
	t.Helper()
	env := newEnv(t, "pv", nil)
	env.State = domain.StateReady
	return env
}

func TestEphemeralEnvironmentExpiresAfterItsTTL(t *testing.T) {
	env := newEnv(t, "pv", nil)
	assert.True(t, env.Ephemeral)
	assert.Equal(t, 4*time.Hour, env.TTL, "default_ttl when the request gives none")
	assert.Equal(t, t0.Add(4*time.Hour), env.ExpiresAt)
	assert.Equal(t, t0.Add(4*time.Hour-24*time.Minute), env.WarnAt(), "a tenth of the TTL before")

	req, err := domain.NewEnvironmentRequest(testCatalog(t), domain.CreateRequest{
		Team: "payments", Name: "pr-7", Template: "pv", TTL: 10 * time.Hour})
	require.NoError(t, err)
	long, err := domain.NewEnvironment("env-abcdefgh2345", req, "op", "alice", t0)
	require.NoError(t, err)
	assert.Equal(t, t0.Add(10*time.Hour), long.ExpiresAt)
}

func TestWarningLead(t *testing.T) {
	tests := []struct{ give, want time.Duration }{
		{24 * time.Hour, time.Hour},
		{10 * time.Hour, time.Hour},
		{4 * time.Hour, 24 * time.Minute},
		{time.Hour, 6 * time.Minute},
		{30 * time.Minute, 5 * time.Minute},
		{2 * time.Minute, 5 * time.Minute},
	}
	for _, tt := range tests {
		assert.Equal(t, tt.want, domain.WarningLead(tt.give), tt.give.String())
	}
}

func TestExpiryFollowsTheClock(t *testing.T) {
	env := readyPreview(t)
	tests := []struct {
		at                  time.Duration
		warningDue, expired bool
	}{
		{time.Hour, false, false},
		{3*time.Hour + 35*time.Minute, false, false},
		{3*time.Hour + 36*time.Minute, true, false},
		{4 * time.Hour, true, true},
	}
	for _, tt := range tests {
		assert.Equal(t, tt.warningDue, env.WarningDue(t0.Add(tt.at)), "warning due at +%s", tt.at)
		assert.Equal(t, tt.expired, env.ExpiryDue(t0.Add(tt.at)), "expiry due at +%s", tt.at)
	}

	_, err := env.Expiring(t0.Add(time.Hour))
	assert.ErrorIs(t, err, domain.ErrNotDue)
	_, err = env.Expire("op", t0.Add(time.Hour))
	assert.ErrorIs(t, err, domain.ErrNotDue)

	warned, err := env.Expiring(t0.Add(3*time.Hour + 40*time.Minute))
	require.NoError(t, err)
	assert.Equal(t, domain.StateExpiring, warned.State)
	gone, err := warned.Expire("op-exp", t0.Add(4*time.Hour))
	require.NoError(t, err)
	assert.Equal(t, domain.StateDecommissioning, gone.State)
	assert.Equal(t, "expired", gone.Reason)
	assert.Equal(t, &domain.Operation{ID: "op-exp", Kind: domain.OpTeardown, StartedAt: t0.Add(4 * time.Hour)}, gone.Operation)
}

func TestPersistentEnvironmentsNeverExpire(t *testing.T) {
	env := newEnv(t, "svc", map[string]any{"service": "shop"})
	env.State = domain.StateReady
	later := t0.Add(1000 * time.Hour)
	assert.False(t, env.WarningDue(later))
	assert.False(t, env.ExpiryDue(later))
	_, err := env.Expire("op", later)
	assert.ErrorIs(t, err, domain.ErrNotEphemeral)
	_, err = env.Expiring(later)
	assert.ErrorIs(t, err, domain.ErrNotEphemeral)
	_, err = env.Extend(time.Hour, later)
	assert.ErrorIs(t, err, domain.ErrNotEphemeral)
	_, err = env.SetKeep(true, later)
	assert.ErrorIs(t, err, domain.ErrNotEphemeral)
}

func TestExtend(t *testing.T) {
	now := t0.Add(3*time.Hour + 40*time.Minute)
	expiring, err := readyPreview(t).Expiring(now)
	require.NoError(t, err)
	tests := []struct {
		name    string
		give    time.Duration
		want    time.Time
		wantErr error
	}{
		{"up to max_ttl from now", 24 * time.Hour, now.Add(24 * time.Hour), nil},
		{"a little", time.Hour, now.Add(time.Hour), nil},
		{"over max_ttl", 25 * time.Hour, expiring.ExpiresAt, domain.ErrTTL},
		{"zero", 0, expiring.ExpiresAt, domain.ErrTTL},
		{"shorter than what is left", 10 * time.Minute, expiring.ExpiresAt, domain.ErrTTL},
	}
	for _, tt := range tests {
		got, err := expiring.Extend(tt.give, now)
		assert.ErrorIs(t, err, tt.wantErr, tt.name)
		assert.Equal(t, tt.want, got.ExpiresAt, tt.name)
		assert.Equal(t, pick(tt.wantErr == nil, domain.StateReady, domain.StateExpiring), got.State, tt.name)
	}
}

func TestLeaseActionsNeedALiveEnvironment(t *testing.T) {
	for _, from := range domain.States() {
		env := readyPreview(t)
		env.State = from
		live := !from.Terminal() && from != domain.StateDecommissioning && from != domain.StateCompensationFailed

		_, extendErr := env.Extend(10*time.Hour, t0.Add(time.Hour))
		_, keepErr := env.SetKeep(true, t0)

		assert.Equal(t, live, extendErr == nil, "extend in %s: %v", from, extendErr)
		assert.Equal(t, live, keepErr == nil, "keep in %s: %v", from, keepErr)
		assert.Equal(t, !live, errors.Is(extendErr, domain.ErrIllegalTransition), "extend in %s", from)
	}
}

func TestKeepSuspendsExpiry(t *testing.T) {
	late := t0.Add(30 * time.Hour)
	warned, err := readyPreview(t).Expiring(t0.Add(4 * time.Hour))
	require.NoError(t, err)

	kept, err := warned.SetKeep(true, t0.Add(4*time.Hour))
	require.NoError(t, err)
	assert.Equal(t, domain.StateReady, kept.State, "keeping an expiring environment makes it ready")
	assert.False(t, kept.Expires())
	assert.False(t, kept.ExpiryDue(late))
	assert.True(t, kept.WarnAt().IsZero())
	_, err = kept.Expire("op", late)
	assert.ErrorIs(t, err, domain.ErrNotDue)

	released, err := kept.SetKeep(false, late)
	require.NoError(t, err)
	assert.Equal(t, late.Add(4*time.Hour), released.ExpiresAt, "a fresh lease from now")
	assert.False(t, released.ExpiryDue(late))
}

func TestRecordActivityRenewsTheLease(t *testing.T) {
	env := readyPreview(t)
	renewed := env.RecordActivity(t0.Add(3 * time.Hour))
	assert.Equal(t, t0.Add(7*time.Hour), renewed.ExpiresAt)

	assert.Equal(t, renewed, renewed.RecordActivity(t0.Add(2*time.Hour)), "never brings expiry forward")

	warned, err := env.Expiring(t0.Add(3*time.Hour + 50*time.Minute))
	require.NoError(t, err)
	back := warned.RecordActivity(t0.Add(3*time.Hour + 55*time.Minute))
	assert.Equal(t, domain.StateReady, back.State)

	env.RenewOnActivity = false
	assert.Equal(t, env, env.RecordActivity(t0.Add(3*time.Hour)), "only templates that renew on activity")
}
