package ratelimit

import (
	"context"
	"fmt"
	"time"

	"github.com/redis/go-redis/v9"
)

// gcraScript is gcra on the server with the server's clock, so every
// gateway replica shares one state and one time. Times in microseconds.
// Returns {allowed, remaining, retry_after_us}.
var gcraScript = redis.NewScript(`
local emission = tonumber(ARGV[1])
local burst_offset = tonumber(ARGV[2])
local t = redis.call("TIME")
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local tat = tonumber(redis.call("GET", KEYS[1]) or now)
if tat < now then tat = now end
local new_tat = tat + emission
local diff = now - (new_tat - burst_offset)
if diff < 0 then
  return {0, 0, -diff}
end
redis.call("SET", KEYS[1], string.format("%d", new_tat), "PX", math.max(1, math.ceil((new_tat - now) / 1000)))
return {1, math.floor(diff / emission), 0}
`)

// Redis keeps each key's state in Redis under prefix+key.
type Redis struct {
	rdb    redis.UniversalClient
	prefix string
	limit  Limit
}

var _ Limiter = (*Redis)(nil)

// NewRedis limits keys to limit with state in rdb.
func NewRedis(rdb redis.UniversalClient, prefix string, limit Limit) (*Redis, error) {
	if err := limit.Validate(); err != nil {
		return nil, err
	}
	return &Redis{rdb: rdb, prefix: prefix, limit: limit}, nil
}

// Allow implements Limiter.
func (r *Redis) Allow(ctx context.Context, key string) (Result, error) {
	em := r.limit.emission().Microseconds()
	res, err := gcraScript.Run(ctx, r.rdb, []string{r.prefix + key}, em, em*int64(r.limit.Burst)).Int64Slice()
	if err != nil {
		return Result{}, fmt.Errorf("rate limit %s: %w", key, err)
	}
	return Result{Allowed: res[0] == 1, Remaining: int(res[1]), RetryAfter: time.Duration(res[2]) * time.Microsecond}, nil
}
