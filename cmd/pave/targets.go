package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"time"

	"github.com/pave-platform/pave/pkg/localsrv"
)

// Provisioning targets of `pave dev`: when the environment names none, a
// local PostgreSQL and redis-server run under the data folder (the same
// code the test kit uses), so that environments get real databases.
const (
	envPostgresTarget = "PAVE_PROVISIONING_POSTGRES_URL"
	envRedisTarget    = "PAVE_PROVISIONING_REDIS_URL"
)

// localTargets are the servers `pave dev` started itself.
type localTargets struct {
	postgres *localsrv.Postgres
	redis    *localsrv.Redis
}

// startLocalTargets starts what is not configured and points the
// provisioning drivers at it. A missing binary is reported, not fatal: the
// driver then answers that it is not configured.
func startLocalTargets(ctx context.Context, dataDir string, out io.Writer) (*localTargets, error) {
	ctx, cancel := context.WithTimeout(ctx, 2*time.Minute)
	defer cancel()
	t := &localTargets{}
	if os.Getenv(envPostgresTarget) == "" {
		pg, err := localsrv.StartPostgres(ctx, localsrv.PostgresConfig{
			Dir: filepath.Join(dataDir, "postgres"), Port: preferredPort("PAVE_DEV_POSTGRES_PORT", 15432),
		})
		if err := t.adopt(out, "PostgreSQL", err); err != nil {
			return nil, err
		}
		if pg != nil {
			t.postgres = pg
			_ = os.Setenv(envPostgresTarget, pg.URL())
		}
	}
	if os.Getenv(envRedisTarget) == "" {
		rd, err := localsrv.StartRedis(ctx, localsrv.RedisConfig{
			Dir: filepath.Join(dataDir, "redis"), Port: preferredPort("PAVE_DEV_REDIS_PORT", 16379),
			AppendOnly: true, ACLFile: true,
		})
		if err := t.adopt(out, "Redis", err); err != nil {
			t.stop()
			return nil, err
		}
		if rd != nil {
			t.redis = rd
			_ = os.Setenv(envRedisTarget, rd.URL())
		}
	}
	return t, nil
}

func (t *localTargets) adopt(out io.Writer, what string, err error) error {
	switch {
	case err == nil:
		return nil
	case errors.Is(err, localsrv.ErrNotInstalled):
		fmt.Fprintf(out, "note: %v\n      %s environments will fail until it is installed.\n", err, what)
		return nil
	default:
		return fmt.Errorf("start local %s: %w", what, err)
	}
}

func (t *localTargets) stop() {
	if t.redis != nil {
		_ = t.redis.Stop()
	}
	if t.postgres != nil {
		_ = t.postgres.Stop()
	}
}

func preferredPort(env string, def int) int {
	if p, err := strconv.Atoi(os.Getenv(env)); err == nil && p > 0 {
		return p
	}
	if free(def) {
		return def
	}
	return 0
}

// free reports whether 127.0.0.1:port can be listened on now.
func free(port int) bool {
	l, err := net.Listen("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(port)))
	if err != nil {
		return false
	}
	_ = l.Close()
	return true
}
