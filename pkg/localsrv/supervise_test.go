package localsrv_test

import (
	"context"
	"errors"
	"log/slog"
	"path/filepath"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/pave-platform/pave/pkg/localsrv"
	"github.com/pave-platform/pave/pkg/testkit"
)

// A supervised redis-server that is killed comes back on the same port
// with its data; while it cannot be started, Check says it is down.
func TestSupervisorRestartsAKilledServer(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "redis")
	cfg := localsrv.RedisConfig{Dir: dir, AppendOnly: true}
	first, err := localsrv.StartRedis(startCtx(t), cfg)
	testkit.RequireStarted(t, err)
	setKey(t, first.URL(), "kept", "yes")
	cfg.Port = first.Port()

	var refuse atomic.Int32
	refuse.Store(2) // the first two restarts fail, as when the port is briefly taken
	sup := localsrv.Supervise("redis", first, func(ctx context.Context) (localsrv.Server, error) {
		if refuse.Add(-1) >= 0 {
			return nil, errors.New("port busy")
		}
		return localsrv.StartRedis(ctx, cfg)
	}, slog.New(slog.DiscardHandler))
	t.Cleanup(func() { _ = sup.Stop() })
	require.NoError(t, sup.Check(context.Background()))

	require.NoError(t, syscall.Kill(first.PID(), syscall.SIGKILL))
	var last error
	assert.Eventually(t, func() bool {
		last = sup.Check(context.Background())
		return last != nil
	}, 20*time.Second, 10*time.Millisecond, "a killed server is reported down")
	assert.ErrorContains(t, last, "local redis")

	ok := assert.Eventually(t, func() bool {
		last = sup.Check(context.Background())
		return last == nil && sup.Restarts() == 1
	}, 60*time.Second, 20*time.Millisecond)
	require.True(t, ok, "not restarted: %v (restarts %d)", last, sup.Restarts())
	assert.Equal(t, "yes", getKey(t, first.URL(), "kept"), "the same port, the same data")
}
