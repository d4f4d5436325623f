// Package redisfx gives a process a Redis client when PAVE_REDIS_URL is
// set. Redis is optional: without it, the shared hot state (rate limits,
// idempotency keys, read models) lives in JetStream KV.
package redisfx

import (
	"context"
	"fmt"

	"github.com/redis/go-redis/v9"
	"go.uber.org/fx"

	"github.com/pave-platform/pave/pkg/config"
	"github.com/pave-platform/pave/pkg/httpfx"
)

// Config names the Redis server.
type Config struct {
	URL string `env:"PAVE_REDIS_URL"`
}

// Validate checks that the URL parses as a Redis URL.
func (c Config) Validate() error {
	if c.URL == "" {
		return nil
	}
	if _, err := redis.ParseURL(c.URL); err != nil {
		return config.Invalidf("PAVE_REDIS_URL", "%v", err)
	}
	return nil
}

// Client is the optional Redis client: Redis is nil when PAVE_REDIS_URL is
// not set, and users pick their JetStream KV implementation instead.
type Client struct {
	Redis *redis.Client
}

// Module provides Client and, with Redis configured, a readiness check.
var Module = fx.Module("redis",
	fx.Provide(LoadConfig, New, httpfx.AsReadinessCheck(Readiness)),
)

// LoadConfig reads Config from the environment.
func LoadConfig() (Config, error) {
	var c Config
	return c, config.Load(&c)
}

// New builds the client and closes it on stop. It does not dial: the
// readiness check reports an unreachable server.
func New(lc fx.Lifecycle, cfg Config) (Client, error) {
	if cfg.URL == "" {
		return Client{}, nil
	}
	opts, err := redis.ParseURL(cfg.URL)
	if err != nil {
		return Client{}, config.Invalidf("PAVE_REDIS_URL", "%v", err)
	}
	rdb := redis.NewClient(opts)
	lc.Append(fx.StopHook(rdb.Close))
	return Client{Redis: rdb}, nil
}

// Readiness pings Redis when it is configured.
func Readiness(c Client) httpfx.ReadinessCheck {
	return httpfx.ReadinessCheck{Name: "redis", Check: func(ctx context.Context) error {
		if c.Redis == nil {
			return nil
		}
		if err := c.Redis.Ping(ctx).Err(); err != nil {
			return fmt.Errorf("redis ping: %w", err)
		}
		return nil
	}}
}
