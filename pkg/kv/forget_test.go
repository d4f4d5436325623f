package kv_test

import (
	"context"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/pave-platform/pave/pkg/kv"
)

// A forgotten key leaves nothing in its bucket's stream (every revision,
// no marker), a key its check keeps stays, and a forgotten key can be
// created again.
func TestForgetLeavesNoTrace(t *testing.T) {
	tbl, js := open(t, kv.Spec{Bucket: "KV_TEST_FORGET", History: 5})
	ctx := context.Background()
	for _, key := range []string{"old", "old", "kept"} {
		_, err := tbl.Put(ctx, key, counter{N: 1})
		require.NoError(t, err)
	}
	f, err := kv.NewForgetter(ctx, js, tbl.Bucket())
	require.NoError(t, err)

	gone, err := f.Forget(ctx, "kept", func([]byte) bool { return false })
	require.NoError(t, err)
	assert.False(t, gone, "the check said keep")
	gone, err = f.Forget(ctx, "old", func([]byte) bool { return true })
	require.NoError(t, err)
	assert.True(t, gone)
	gone, err = f.Forget(ctx, "never", func([]byte) bool { return true })
	require.NoError(t, err)
	assert.True(t, gone, "a key that holds nothing is gone already")

	st, err := js.Stream(ctx, "KV_KV_TEST_FORGET")
	require.NoError(t, err)
	info, err := st.Info(ctx)
	require.NoError(t, err)
	assert.Equal(t, uint64(1), info.State.Msgs, "only kept's value is left: no revision, no marker of old")
	_, err = tbl.Create(ctx, "old", counter{N: 2})
	assert.NoError(t, err, "a forgotten key is created again")
}
