package saga_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/pave-platform/pave/pkg/saga"
)

// complete drives saga id of def3 to completed by answering each step.
func complete(t *testing.T, eng *saga.Engine, id string) {
	t.Helper()
	ctx := context.Background()
	require.NoError(t, eng.Start(ctx, "test", id, nil))
	for _, step := range []string{"a", "b", "c"} {
		require.NoError(t, eng.Deliver(ctx, id, saga.StepSucceeded{Ref: saga.Ref{ID: id, Step: step, Attempt: 1}}))
	}
	inst, err := eng.Get(ctx, id)
	require.NoError(t, err)
	require.Equal(t, saga.StatusCompleted, inst.Status)
}

// Issue 15: the engine decoded every instance ever at start. An ended
// saga with nothing left to publish is now skipped undecoded.
func TestEngineStartDecodesOnlyLiveSagas(t *testing.T) {
	env := newEnv(t)
	first := env.engine(t, env.bus, def3())
	for i := range 5 {
		complete(t, first, fmt.Sprintf("env-done-%d", i))
	}
	require.NoError(t, first.Start(context.Background(), "test", "env-live", nil))
	stopEngine(t, first)

	next := env.engine(t, env.bus, def3())
	// env-live's outbox, left to the next write by the first engine, is
	// settled by the new one at start (a write it watches too), and a
	// Start writes env-new: three decodes, none of the five ended sagas.
	require.NoError(t, next.Start(context.Background(), "test", "env-new", nil))
	require.Eventually(t, func() bool {
		inst, err := next.Get(context.Background(), "env-live")
		return err == nil && len(inst.Outbox) == 0 && next.Decoded() >= 3
	}, 20*time.Second, 10*time.Millisecond, "the new engine decoded %d instances", next.Decoded())
	assert.Equal(t, int64(3), next.Decoded(), "env-live twice and env-new; the five ended sagas are not decoded")
}

// Issue 15: ended sagas stayed in the bucket for ever. With a retention,
// the write that ends one expires, and a running one stays.
func TestEngineEndedSagasExpire(t *testing.T) {
	env := newEnv(t)
	// The bucket exists without a retention first: an upgrade turns it on.
	_, err := saga.NewEngine(context.Background(), env.js, env.bus, bucket, []saga.Definition{def3()})
	require.NoError(t, err)
	eng, err := saga.NewEngine(context.Background(), env.js, env.bus, bucket, []saga.Definition{def3()},
		saga.WithRetention(time.Second), saga.WithRetryDelay(50*time.Millisecond))
	require.NoError(t, err)
	require.NoError(t, eng.Launch())
	t.Cleanup(func() { stopEngine(t, eng) })

	for i := range 5 {
		complete(t, eng, fmt.Sprintf("env-done-%d", i))
	}
	// The watch may still deliver their older revisions; once through,
	// nothing of an ended saga is kept in memory.
	require.Eventually(t, func() bool { return eng.Tracked() == 0 }, 20*time.Second, 10*time.Millisecond,
		"the engine still tracks %d entries after five sagas ended", eng.Tracked())
	complete(t, eng, "env-done")
	require.NoError(t, eng.Start(context.Background(), "test", "env-live", nil))
	assert.Positive(t, eng.Tracked(), "the running saga is tracked")
	require.Eventually(t, func() bool {
		_, err := eng.Get(context.Background(), "env-done")
		return err != nil
	}, 30*time.Second, 50*time.Millisecond, "the ended saga env-done did not expire")
	_, err = eng.Get(context.Background(), "env-done")
	assert.ErrorIs(t, err, saga.ErrNotFound)
	inst, err := eng.Get(context.Background(), "env-live")
	require.NoError(t, err, "a running saga does not expire")
	assert.Equal(t, saga.StatusRunning, inst.Status)
}
