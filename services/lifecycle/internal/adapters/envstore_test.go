package adapters_test

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/pave-platform/pave/pkg/testkit"
	"github.com/pave-platform/pave/services/lifecycle/internal/adapters"
	"github.com/pave-platform/pave/services/lifecycle/internal/app"
	"github.com/pave-platform/pave/services/lifecycle/internal/domain"
)

func TestKVEnvironmentsCompareAndSetAndNames(t *testing.T) {
	ctx := context.Background()
	store, err := adapters.NewKVEnvironments(ctx, testkit.NATS(t).JetStream(t), 1)
	require.NoError(t, err)
	env := domain.Environment{ID: "env-abcdefghijkl", Team: "payments", Name: "checkout",
		State: domain.StateRequested, CreatedAt: time.Now().UTC()}

	require.NoError(t, store.Reserve(ctx, "payments", "checkout", env.ID))
	require.NoError(t, store.Reserve(ctx, "payments", "checkout", env.ID), "reserving again for the same id is fine")
	assert.ErrorIs(t, store.Reserve(ctx, "payments", "checkout", "env-zzzzzzzzzzzz"), app.ErrNameTaken)
	require.NoError(t, store.Create(ctx, env))

	got, rev, err := store.Get(ctx, env.ID)
	require.NoError(t, err)
	assert.Equal(t, env.Name, got.Name)

	got.State = domain.StateQueued
	require.NoError(t, store.Update(ctx, got, rev))
	got.State = domain.StateProvisioning
	assert.ErrorIs(t, store.Update(ctx, got, rev), app.ErrConflict, "a write at a stale revision is refused")

	_, _, err = store.Get(ctx, "env-nothere00000")
	assert.ErrorIs(t, err, app.ErrNotFound)
	_, _, err = store.Get(ctx, "../etc/passwd")
	assert.ErrorIs(t, err, app.ErrNotFound, "ids that cannot be keys are simply not found")

	list, err := store.List(ctx)
	require.NoError(t, err)
	require.Len(t, list, 1)
	assert.Equal(t, domain.StateQueued, list[0].State)

	require.NoError(t, store.Release(ctx, "payments", "checkout"))
	assert.NoError(t, store.Reserve(ctx, "payments", "checkout", "env-zzzzzzzzzzzz"), "a released name is free")
}
