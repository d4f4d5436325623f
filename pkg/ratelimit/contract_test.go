package ratelimit_test

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

	"github.com/pave-platform/pave/pkg/ratelimit"
	"github.com/pave-platform/pave/pkg/testkit"
)

// newLimiter builds an implementation under test with limit.
type newLimiter func(t *testing.T, limit ratelimit.Limit) ratelimit.Limiter

func TestRedis(t *testing.T) {
	rd := testkit.Redis(t)
	rdb := redis.NewClient(&redis.Options{Addr: rd.Addr()})
	t.Cleanup(func() { _ = rdb.Close() })
	n := 0
	contract(t, func(t *testing.T, l ratelimit.Limit) ratelimit.Limiter {
		n++
		r, err := ratelimit.NewRedis(rdb, fmt.Sprintf("test%d:", n), l)
		require.NoError(t, err)
		return r
	})
}

func TestKV(t *testing.T) {
	js := testkit.NATS(t).JetStream(t)
	n := 0
	contract(t, func(t *testing.T, l ratelimit.Limit) ratelimit.Limiter {
		n++
		k, err := ratelimit.NewKV(context.Background(), js, fmt.Sprintf("RATELIMIT_TEST_%d", n), 1, l)
		require.NoError(t, err)
		return k
	})
}

// contract is what every Limiter does.
func contract(t *testing.T, newL newLimiter) {
	ctx := context.Background()

	t.Run("a burst then a denial with the wait", func(t *testing.T) {
		l := newL(t, ratelimit.Limit{Rate: 60, Period: time.Minute, Burst: 5})
		for i := range 5 {
			res, err := l.Allow(ctx, "tok-a")
			require.NoError(t, err)
			assert.True(t, res.Allowed, "request %d of the burst", i+1)
			assert.Equal(t, 4-i, res.Remaining)
		}
		res, err := l.Allow(ctx, "tok-a")
		require.NoError(t, err)
		assert.False(t, res.Allowed)
		assert.Greater(t, res.RetryAfter, time.Duration(0))
		assert.LessOrEqual(t, res.RetryAfter, time.Second, "one request frees up every second at 60/min")
	})

	t.Run("keys are independent", func(t *testing.T) {
		l := newL(t, ratelimit.Limit{Rate: 1, Period: time.Hour, Burst: 1})
		res, err := l.Allow(ctx, "tok-1")
		require.NoError(t, err)
		assert.True(t, res.Allowed)
		res, err = l.Allow(ctx, "tok-1")
		require.NoError(t, err)
		assert.False(t, res.Allowed)
		assert.Greater(t, res.RetryAfter, 59*time.Minute)
		res, err = l.Allow(ctx, "tok-2 with: odd characters/é")
		require.NoError(t, err)
		assert.True(t, res.Allowed)
	})

	t.Run("allowed again after the wait", func(t *testing.T) {
		l := newL(t, ratelimit.Limit{Rate: 10, Period: time.Second, Burst: 2})
		for range 2 {
			res, err := l.Allow(ctx, "tok")
			require.NoError(t, err)
			require.True(t, res.Allowed)
		}
		res, err := l.Allow(ctx, "tok")
		require.NoError(t, err)
		require.False(t, res.Allowed)
		time.Sleep(res.RetryAfter + 20*time.Millisecond)
		res, err = l.Allow(ctx, "tok")
		require.NoError(t, err)
		assert.True(t, res.Allowed)
	})

	t.Run("concurrent requests never exceed the burst", func(t *testing.T) {
		l := newL(t, ratelimit.Limit{Rate: 10, Period: time.Hour, Burst: 10})
		var allowed atomic.Int32
		var wg sync.WaitGroup
		for range 40 {
			wg.Go(func() {
				res, err := l.Allow(ctx, "shared")
				assert.NoError(t, err)
				if res.Allowed {
					allowed.Add(1)
				}
			})
		}
		wg.Wait()
		assert.Equal(t, int32(10), allowed.Load())
	})
}

func TestLimitValidate(t *testing.T) {
	assert.Error(t, ratelimit.Limit{Rate: 0, Period: time.Minute, Burst: 1}.Validate())
	assert.Error(t, ratelimit.Limit{Rate: 1, Period: time.Minute, Burst: 0}.Validate())
	assert.NoError(t, ratelimit.PerMinute(600, 100).Validate())
}
