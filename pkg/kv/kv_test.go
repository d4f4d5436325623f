package kv_test

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/pave-platform/pave/pkg/kv"
	"github.com/pave-platform/pave/pkg/testkit"
)

type counter struct {
	N    int    `json:"n"`
	Note string `json:"note,omitempty"`
}

func open(t *testing.T, spec kv.Spec) (*kv.Table[counter], jetstream.JetStream) {
	t.Helper()
	js, err := jetstream.New(testkit.NATS(t).Conn(t))
	require.NoError(t, err)
	tbl, err := kv.Open[counter](context.Background(), js, spec)
	require.NoError(t, err)
	return tbl, js
}

// Every bucket is declared with a byte bound, and a TTL when asked.
func TestDeclareBoundsEveryBucket(t *testing.T) {
	_, js := open(t, kv.Spec{Bucket: "KV_TEST_DEFAULT"})
	ctx := context.Background()
	st, err := js.Stream(ctx, "KV_KV_TEST_DEFAULT")
	require.NoError(t, err)
	assert.Equal(t, kv.DefaultMaxBytes, st.CachedInfo().Config.MaxBytes, "a spec without a bound gets the default one")

	_, err = kv.Open[counter](ctx, js, kv.Spec{Bucket: "KV_TEST_FINISHED", MaxBytes: 1 << 20, TTL: time.Hour})
	require.NoError(t, err)
	st, err = js.Stream(ctx, "KV_KV_TEST_FINISHED")
	require.NoError(t, err)
	assert.Equal(t, int64(1<<20), st.CachedInfo().Config.MaxBytes)
	assert.Equal(t, time.Hour, st.CachedInfo().Config.MaxAge)
}

// Concurrent updates of one key all land: a writer that lost the race
// reads the latest value and applies its change again.
func TestUpdateRetriesOnConflictAndLosesNoWrite(t *testing.T) {
	tbl, _ := open(t, kv.Spec{Bucket: "KV_TEST_CAS"})
	ctx := context.Background()
	_, err := tbl.Create(ctx, "c", counter{})
	require.NoError(t, err)
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			for range 5 {
				_, _, err := tbl.Update(ctx, "c", func(c *counter) error { c.N++; return nil })
				assert.NoError(t, err)
			}
		})
	}
	wg.Wait()
	got, _, err := tbl.Get(ctx, "c")
	require.NoError(t, err)
	assert.Equal(t, 40, got.N)
}

func TestTableContract(t *testing.T) {
	tbl, _ := open(t, kv.Spec{Bucket: "KV_TEST_CONTRACT", History: 5})
	ctx := context.Background()

	_, _, err := tbl.Get(ctx, "missing")
	assert.ErrorIs(t, err, kv.ErrNotFound)
	_, _, err = tbl.Update(ctx, "missing", func(*counter) error { return nil })
	assert.ErrorIs(t, err, kv.ErrNotFound, "update does not create")

	rev, err := tbl.Create(ctx, "a.1", counter{N: 1})
	require.NoError(t, err)
	_, err = tbl.Create(ctx, "a.1", counter{N: 9})
	assert.ErrorIs(t, err, kv.ErrConflict, "create refuses an existing key")
	_, err = tbl.Write(ctx, "a.1", counter{N: 2}, rev+100)
	assert.ErrorIs(t, err, kv.ErrConflict, "write at a stale revision")

	v, _, err := tbl.Update(ctx, "a.1", func(c *counter) error { c.Note = "x"; return kv.ErrUnchanged })
	require.NoError(t, err)
	assert.Equal(t, counter{N: 1, Note: "x"}, v, "unchanged returns the latest value")
	got, _, err := tbl.Get(ctx, "a.1")
	require.NoError(t, err)
	assert.Equal(t, counter{N: 1}, got, "unchanged writes nothing")

	refused := errors.New("refused")
	_, _, err = tbl.Update(ctx, "a.1", func(*counter) error { return refused })
	assert.ErrorIs(t, err, refused)

	v, _, err = tbl.Upsert(ctx, "a.2", func(c *counter, exists bool) error {
		assert.False(t, exists)
		c.N = 2
		return nil
	})
	require.NoError(t, err)
	assert.Equal(t, 2, v.N)
	_, err = tbl.Put(ctx, "b.1", counter{N: 3})
	require.NoError(t, err)

	list, err := tbl.List(ctx, "a.>")
	require.NoError(t, err)
	require.Len(t, list, 2)
	assert.ElementsMatch(t, []string{"a.1", "a.2"}, []string{list[0].Key, list[1].Key})

	_, rev2, err := tbl.Get(ctx, "a.2")
	require.NoError(t, err)
	assert.ErrorIs(t, tbl.Delete(ctx, "a.2", rev2+100), kv.ErrConflict, "delete at a stale revision")
	require.NoError(t, tbl.Delete(ctx, "a.2", rev2))
	_, _, err = tbl.Get(ctx, "a.2")
	assert.ErrorIs(t, err, kv.ErrNotFound)
	_, err = tbl.Create(ctx, "a.2", counter{N: 4})
	assert.NoError(t, err, "a deleted key can be created again")

	w, err := tbl.Watch(ctx, "b.>")
	require.NoError(t, err)
	defer func() { _ = w.Stop() }()
	first := <-w.Updates()
	require.NotNil(t, first)
	b, err := tbl.Decode(first)
	require.NoError(t, err)
	assert.Equal(t, 3, b.N)
	assert.Nil(t, <-w.Updates(), "the current values end with a nil entry")
	_, err = tbl.Put(ctx, "b.1", counter{N: 5})
	require.NoError(t, err)
	select {
	case e := <-w.Updates():
		b, err := tbl.Decode(e)
		require.NoError(t, err)
		assert.Equal(t, 5, b.N)
	case <-time.After(10 * time.Second):
		t.Fatal("the watch did not see the change of b.1")
	}
}
