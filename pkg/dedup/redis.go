package dedup

import (
	"context"
	"fmt"
	"time"

	"github.com/redis/go-redis/v9"
)

// Redis keeps claims as keys with a TTL: SET NX PX.
type Redis struct {
	rdb    *redis.Client
	prefix string
	ttl    time.Duration
}

var _ Store = (*Redis)(nil)

// NewRedis stores claims under prefix for ttl.
func NewRedis(rdb *redis.Client, prefix string, ttl time.Duration) *Redis {
	return &Redis{rdb: rdb, prefix: prefix, ttl: ttl}
}

// Claim sets the key only if it is absent.
func (r *Redis) Claim(ctx context.Context, key string) (bool, error) {
	if key == "" {
		return false, ErrEmptyKey
	}
	ok, err := r.rdb.SetNX(ctx, r.prefix+key, time.Now().UTC().Format(time.RFC3339), r.ttl).Result()
	if err != nil {
		return false, fmt.Errorf("claim %s in redis: %w", key, err)
	}
	return ok, nil
}

// Release deletes the key.
func (r *Redis) Release(ctx context.Context, key string) error {
	if err := r.rdb.Del(ctx, r.prefix+key).Err(); err != nil {
		return fmt.Errorf("release %s in redis: %w", key, err)
	}
	return nil
}
