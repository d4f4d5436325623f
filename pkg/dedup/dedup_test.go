package dedup_test

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/pave-platform/pave/pkg/dedup"
	"github.com/pave-platform/pave/pkg/testkit"
)

// newStore makes a fresh store with the given TTL.
type newStore func(t *testing.T, ttl time.Duration) dedup.Store

// contract is what every Store must do.
func contract(t *testing.T, mk newStore) {
	ctx := context.Background()
	t.Run("first claim wins, second is a duplicate", func(t *testing.T) {
		s := mk(t, time.Hour)
		ok, err := s.Claim(ctx, "github/72d3162e-cc78-11e3-81ab-4c9367dc0958")
		require.NoError(t, err)
		assert.True(t, ok)
		ok, err = s.Claim(ctx, "github/72d3162e-cc78-11e3-81ab-4c9367dc0958")
		require.NoError(t, err)
		assert.False(t, ok, "a replay is recognised")
		ok, err = s.Claim(ctx, "github/another")
		require.NoError(t, err)
		assert.True(t, ok, "keys are independent")
	})
	t.Run("release lets the sender retry", func(t *testing.T) {
		s := mk(t, time.Hour)
		ok, err := s.Claim(ctx, "k")
		require.NoError(t, err)
		require.True(t, ok)
		require.NoError(t, s.Release(ctx, "k"))
		ok, err = s.Claim(ctx, "k")
		require.NoError(t, err)
		assert.True(t, ok, "a released key is claimable")
		ok, err = s.Claim(ctx, "k")
		require.NoError(t, err)
		assert.False(t, ok)
	})
	t.Run("claims expire after the TTL", func(t *testing.T) {
		s := mk(t, time.Second)
		ok, err := s.Claim(ctx, "short")
		require.NoError(t, err)
		require.True(t, ok)
		require.Eventually(t, func() bool {
			ok, err := s.Claim(ctx, "short")
			return err == nil && ok
		}, 10*time.Second, 100*time.Millisecond)
	})
	t.Run("keys with any characters", func(t *testing.T) {
		s := mk(t, time.Hour)
		for _, k := range []string{"a b/c*>", "ci/build #42", "ünïcode"} {
			ok, err := s.Claim(ctx, k)
			require.NoError(t, err)
			assert.True(t, ok, k)
			ok, err = s.Claim(ctx, k)
			require.NoError(t, err)
			assert.False(t, ok, k)
		}
		_, err := s.Claim(ctx, "")
		assert.ErrorIs(t, err, dedup.ErrEmptyKey)
	})
	t.Run("exactly one of concurrent claims wins", func(t *testing.T) {
		s := mk(t, time.Hour)
		var wins atomic.Int32
		var wg sync.WaitGroup
		for range 16 {
			wg.Go(func() {
				ok, err := s.Claim(ctx, "race")
				assert.NoError(t, err)
				if ok {
					wins.Add(1)
				}
			})
		}
		wg.Wait()
		assert.Equal(t, int32(1), wins.Load())
	})
}

func TestRedisStore(t *testing.T) {
	srv := testkit.Redis(t)
	rdb := redis.NewClient(&redis.Options{Addr: srv.Addr()})
	t.Cleanup(func() { _ = rdb.Close() })
	n := 0
	contract(t, func(t *testing.T, ttl time.Duration) dedup.Store {
		n++
		return dedup.NewRedis(rdb, fmt.Sprintf("test%d:", n), ttl)
	})
}

func TestKVStore(t *testing.T) {
	js := testkit.NATS(t).JetStream(t)
	n := 0
	contract(t, func(t *testing.T, ttl time.Duration) dedup.Store {
		n++
		s, err := dedup.NewKV(context.Background(), js, fmt.Sprintf("DEDUP_TEST_%d", n), ttl, 1)
		require.NoError(t, err)
		return s
	})
}

func TestKVStoreKeepsClaimsAcrossReopen(t *testing.T) {
	ctx := context.Background()
	js := testkit.NATS(t).JetStream(t)
	s, err := dedup.NewKV(ctx, js, "DEDUP_REOPEN", 7*24*time.Hour, 1)
	require.NoError(t, err)
	ok, err := s.Claim(ctx, "d1")
	require.NoError(t, err)
	require.True(t, ok)
	again, err := dedup.NewKV(ctx, js, "DEDUP_REOPEN", 7*24*time.Hour, 1)
	require.NoError(t, err)
	ok, err = again.Claim(ctx, "d1")
	require.NoError(t, err)
	assert.False(t, ok, "a restarted gateway still knows the delivery")
}
