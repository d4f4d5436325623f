package main

import (
	"context"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"go.uber.org/fx"

	"github.com/pave-platform/pave/pkg/httpfx"
	"github.com/pave-platform/pave/pkg/keyfile"
	"github.com/pave-platform/pave/pkg/localsrv"
)

// Provisioning targets of `pave dev`: when the environment names none, a
// local PostgreSQL and redis-server run under the data folder (the same
// code the test kit uses), so that environments get real databases.
const (
	envPostgresTarget = "PAVE_PROVISIONING_POSTGRES_URL"
	envRedisTarget    = "PAVE_PROVISIONING_REDIS_URL"
)

// localTargets are the servers `pave dev` started itself, each kept
// running by a supervisor that restarts it when it dies.
type localTargets struct {
	postgres *localsrv.Supervisor
	redis    *localsrv.Supervisor
}

// startLocalTargets starts what is not configured and points the
// provisioning drivers at it. A missing binary is reported, not fatal: the
// driver then answers that it is not configured.
func startLocalTargets(ctx context.Context, dataDir string, out io.Writer) (*localTargets, error) {
	ctx, cancel := context.WithTimeout(ctx, 2*time.Minute)
	defer cancel()
	t := &localTargets{}
	if os.Getenv(envPostgresTarget) == "" {
		pw, err := localPassword(filepath.Join(dataDir, "postgres.password"))
		if err != nil {
			return nil, err
		}
		cfg := localsrv.PostgresConfig{Dir: filepath.Join(dataDir, "postgres"), Port: preferredPort("PAVE_DEV_POSTGRES_PORT", 15432), Password: pw}
		pg, err := localsrv.StartPostgres(ctx, cfg)
		if err := t.adopt(out, "PostgreSQL", err); err != nil {
			return nil, err
		}
		if pg != nil {
			cfg.Port = pg.Port()
			t.postgres = localsrv.Supervise("postgres", pg, func(ctx context.Context) (localsrv.Server, error) {
				return localsrv.StartPostgres(ctx, cfg)
			}, slog.Default())
			_ = os.Setenv(envPostgresTarget, pg.URL())
		}
	}
	if os.Getenv(envRedisTarget) == "" {
		pw, err := localPassword(filepath.Join(dataDir, "redis.password"))
		if err != nil {
			t.stop()
			return nil, err
		}
		cfg := localsrv.RedisConfig{Dir: filepath.Join(dataDir, "redis"), Port: preferredPort("PAVE_DEV_REDIS_PORT", 16379),
			AppendOnly: true, ACLFile: true, Password: pw}
		rd, err := localsrv.StartRedis(ctx, cfg)
		if err := t.adopt(out, "Redis", err); err != nil {
			t.stop()
			return nil, err
		}
		if rd != nil {
			cfg.Port = rd.Port()
			t.redis = localsrv.Supervise("redis", rd, func(ctx context.Context) (localsrv.Server, error) {
				return localsrv.StartRedis(ctx, cfg)
			}, slog.Default())
			_ = os.Setenv(envRedisTarget, rd.URL())
		}
	}
	return t, nil
}

// localPassword is the password of a local server, generated at the first
// start into file (0600, in the 0700 data folder) and kept: the admin URL
// handed to provisioning carries it, and nobody else on the machine can
// log in as the server's superuser.
func localPassword(file string) (string, error) {
	secret, _, err := keyfile.LoadOrCreate(file, 24, func(s string) ([]byte, error) {
		return base64.StdEncoding.DecodeString(strings.TrimSpace(s))
	})
	if err != nil {
		return "", fmt.Errorf("local server password: %w", err)
	}
	return hex.EncodeToString(secret), nil
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

// readiness makes /readyz say which local server is down.
func (t *localTargets) readiness() fx.Option {
	var opts []fx.Option
	for name, s := range map[string]*localsrv.Supervisor{"local-postgres": t.postgres, "local-redis": t.redis} {
		if s == nil {
			continue
		}
		opts = append(opts, fx.Supply(fx.Annotated{Group: "readiness", Target: httpfx.ReadinessCheck{Name: name, Check: s.Check}}))
	}
	return fx.Options(opts...)
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
