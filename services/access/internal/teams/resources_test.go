package teams_test

import (
	"context"
	"log/slog"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/pave-platform/pave/pkg/bus"
	"github.com/pave-platform/pave/pkg/events"
	"github.com/pave-platform/pave/pkg/testkit"
	"github.com/pave-platform/pave/services/access/internal/teams"
)

// An environment counts until deleted or failed, a workload from its
// submission until it ends in any way; another instance's index sees the
// same through the bucket.
func TestLiveResourcesFollowTheirEvents(t *testing.T) {
	ctx := context.Background()
	js := testkit.NATS(t).JetStream(t)
	r, err := teams.Open(ctx, js, 1, slog.New(slog.DiscardHandler))
	require.NoError(t, err)
	t.Cleanup(r.Close)
	handle := func(typ string, data any) {
		t.Helper()
		e, err := bus.NewEvent("e-"+typ, "pave/test", typ, data)
		require.NoError(t, err)
		require.NoError(t, r.Handle(ctx, e))
	}
	transition := func(id, to string) {
		handle(events.TypeEnvironmentTransitioned, map[string]any{"environment_id": id, "team": "pay", "to": to})
	}
	transition("env-a", "provisioning")
	transition("env-b", "ready")
	transition("env-c", "ready")
	transition("env-b", "deleted")
	transition("env-c", "failed")
	handle(events.TypeWorkloadSubmitted, map[string]any{"workload": map[string]any{"id": "wl-1", "team": "pay"}})
	handle(events.TypeWorkloadSubmitted, map[string]any{"workload": map[string]any{"id": "wl-2", "team": "pay"}})
	handle(events.TypeWorkloadSubmitted, map[string]any{"workload": map[string]any{"id": "wl-3", "team": "web"}})
	handle(events.TypeWorkloadReleased, map[string]any{"workload_id": "wl-2"})

	envs, wls := r.Live("pay")
	assert.Equal(t, []string{"env-a"}, envs)
	assert.Equal(t, []string{"wl-1"}, wls)

	other, err := teams.Open(ctx, js, 1, slog.New(slog.DiscardHandler))
	require.NoError(t, err)
	t.Cleanup(other.Close)
	envs, wls = other.Live("web")
	assert.Empty(t, envs)
	assert.Equal(t, []string{"wl-3"}, wls)
}
