package main

import (
	"context"
	"io"
	"net/http"
	"os"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/pave-platform/pave/pkg/httpfx"
	"github.com/pave-platform/pave/pkg/localsrv"
	"github.com/pave-platform/pave/pkg/testkit"
)

// pave dev's local Redis, killed, is restarted on its port; meanwhile
// /readyz names it as the dependency that is down.
func TestDevRestartsItsLocalRedisAndReadyzNamesIt(t *testing.T) {
	t.Setenv(envPostgresTarget, "postgres://configured-elsewhere") // only Redis is local here
	t.Setenv(envRedisTarget, "")
	t.Setenv("PAVE_DEV_REDIS_PORT", "")
	targets, err := startLocalTargets(context.Background(), t.TempDir(), io.Discard)
	require.NoError(t, err)
	t.Cleanup(targets.stop)
	if targets.redis == nil { // redis-server is missing: skip, or fail in CI
		testkit.RequireStarted(t, localsrv.ErrNotInstalled)
	}
	assert.Equal(t, os.Getenv(envRedisTarget), "redis://"+targets.redis.Addr()+"/0")

	srv, err := httpfx.NewServer(httpfx.Config{Addr: "127.0.0.1:0"}, nil,
		[]httpfx.ReadinessCheck{{Name: "local-redis", Check: targets.redis.Check}}, nil, nil)
	require.NoError(t, err)
	require.NoError(t, srv.Start(context.Background()))
	t.Cleanup(func() { _ = srv.Stop(context.Background()) })
	readyz := func() (int, string) {
		resp, err := http.Get("http://" + srv.Addr() + "/readyz")
		if err != nil {
			return 0, err.Error()
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	code, body := readyz()
	require.Equal(t, http.StatusOK, code, body)

	require.NoError(t, syscall.Kill(targets.redis.PID(), syscall.SIGKILL))
	var last string
	assert.Eventually(t, func() bool {
		code, last = readyz()
		return code == http.StatusServiceUnavailable
	}, 20*time.Second, 10*time.Millisecond, "readyz never said Redis was down")
	assert.Contains(t, last, "local-redis")
	ok := assert.Eventually(t, func() bool {
		code, last = readyz()
		return code == http.StatusOK && targets.redis.Restarts() == 1
	}, 60*time.Second, 50*time.Millisecond)
	require.True(t, ok, "redis not restarted: %s", last)
}
