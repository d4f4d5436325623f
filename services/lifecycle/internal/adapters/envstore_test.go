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

	require.NoError(t, store.Release(ctx, "payments", "checkout", "env-yyyyyyyyyyyy"))
	assert.ErrorIs(t, store.Reserve(ctx, "payments", "checkout", "env-zzzzzzzzzzzz"), app.ErrNameTaken,
		"only the environment holding a name releases it")
	require.NoError(t, store.Release(ctx, "payments", "checkout", env.ID))
	assert.NoError(t, store.Reserve(ctx, "payments", "checkout", "env-zzzzzzzzzzzz"), "a released name is free")
}

// A name whose environment is deleted, or failed holding nothing, is
// taken over even when nobody released it; a failed environment that may
// still hold a resource keeps it.
func TestReserveTakesOverANameItsEnvironmentNoLongerNeeds(t *testing.T) {
	ctx := context.Background()
	store, err := adapters.NewKVEnvironments(ctx, testkit.NATS(t).JetStream(t), 1)
	require.NoError(t, err)
	env := domain.Environment{ID: "env-abcdefghijkl", Team: "payments", Name: "checkout", State: domain.StateFailed,
		Resources: []domain.ResourceStatus{{Name: "db", State: domain.ResourceFailed}}, CreatedAt: time.Now().UTC()}
	require.NoError(t, store.Reserve(ctx, "payments", "checkout", env.ID))
	require.NoError(t, store.Create(ctx, env))

	assert.ErrorIs(t, store.Reserve(ctx, "payments", "checkout", "env-zzzzzzzzzzzz"), app.ErrNameTaken,
		"a failed environment whose db may exist keeps its name")

	got, rev, err := store.Get(ctx, env.ID)
	require.NoError(t, err)
	got.Resources[0].State = domain.ResourceDeleted
	require.NoError(t, store.Update(ctx, got, rev))
	require.NoError(t, store.Reserve(ctx, "payments", "checkout", "env-zzzzzzzzzzzz"))
	assert.ErrorIs(t, store.Reserve(ctx, "payments", "checkout", "env-yyyyyyyyyyyy"), app.ErrNameTaken,
		"the new holder's environment is not stored yet: its create may be under way")
	require.NoError(t, store.Release(ctx, "payments", "checkout", env.ID))
	assert.ErrorIs(t, store.Reserve(ctx, "payments", "checkout", "env-yyyyyyyyyyyy"), app.ErrNameTaken,
		"a late release by the old holder leaves the new one's name alone")
}

// With Follow, lists come from the index: this process's writes show at
// once, another replica's once the watch delivers them, and the index
// agrees with a fresh scan of the bucket.
func TestFollowedListShowsOwnWritesAtOnceAndOthersSoon(t *testing.T) {
	ctx := context.Background()
	js := testkit.NATS(t).JetStream(t)
	here, err := adapters.NewKVEnvironments(ctx, js, 1)
	require.NoError(t, err)
	other, err := adapters.NewKVEnvironments(ctx, js, 1) // another lifecycle replica
	require.NoError(t, err)
	t0 := time.Now().UTC()
	before := domain.Environment{ID: "env-aaaaaaaaaaaa", Team: "payments", Name: "before", State: domain.StateReady, CreatedAt: t0}
	require.NoError(t, other.Create(ctx, before), "written before the watch starts")

	followCtx, stop := context.WithCancel(ctx)
	wait, err := here.Follow(followCtx)
	require.NoError(t, err)
	t.Cleanup(func() { stop(); wait() })

	require.Eventually(t, func() bool {
		list, err := here.List(ctx)
		return err == nil && len(list) == 1 && list[0].ID == before.ID
	}, 5*time.Second, 10*time.Millisecond)

	mine := domain.Environment{ID: "env-bbbbbbbbbbbb", Team: "payments", Name: "mine", State: domain.StateRequested, CreatedAt: t0.Add(time.Second)}
	require.NoError(t, here.Create(ctx, mine))
	got, rev, err := here.Get(ctx, mine.ID)
	require.NoError(t, err)
	got.State = domain.StateQueued
	require.NoError(t, here.Update(ctx, got, rev))
	list, err := here.List(ctx)
	require.NoError(t, err)
	require.Len(t, list, 2, "this process's writes are listed at once")
	assert.Equal(t, domain.StateQueued, list[1].State, "at their latest revision")

	theirs := domain.Environment{ID: "env-cccccccccccc", Team: "payments", Name: "theirs", State: domain.StateRequested, CreatedAt: t0.Add(2 * time.Second)}
	require.NoError(t, other.Create(ctx, theirs))
	require.Eventually(t, func() bool {
		list, err := here.List(ctx)
		return err == nil && len(list) == 3 && list[2].ID == theirs.ID
	}, 5*time.Second, 10*time.Millisecond, "another replica's create reaches the index")

	scanned, err := other.List(ctx) // not following: reads the bucket
	require.NoError(t, err)
	listed, err := here.List(ctx)
	require.NoError(t, err)
	assert.Equal(t, scanned, listed, "the index and the bucket agree")
}
