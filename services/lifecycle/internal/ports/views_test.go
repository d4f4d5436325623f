package ports

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/pave-platform/pave/services/lifecycle/internal/domain"
)

func TestViewShowsWhyAQueuedEnvironmentWaits(t *testing.T) {
	at := time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC)
	env := domain.Environment{ID: "env-abcdefgh2345", Team: "payments", Name: "checkout", State: domain.StateRequested}
	env, err := env.Queue("platform", at)
	require.NoError(t, err)
	env, err = env.WaitForAdmission("team quota exhausted for ops; borrowing limit reached", 3, at, at)
	require.NoError(t, err)

	raw, err := json.Marshal(view(env))
	require.NoError(t, err)
	var got struct {
		State     string         `json:"state"`
		Reason    string         `json:"reason"`
		Admission map[string]any `json:"admission"`
	}
	require.NoError(t, json.Unmarshal(raw, &got))

	assert.Equal(t, "queued", got.State)
	assert.Equal(t, "waiting for admission in pool platform: team quota exhausted for ops; borrowing limit reached (position 3)", got.Reason)
	assert.Equal(t, map[string]any{"pool": "platform", "waiting": "team quota exhausted for ops; borrowing limit reached",
		"position": float64(3), "reported_at": "2025-03-01T12:00:00Z"}, got.Admission)
}

func TestViewOfAnEnvironmentWithoutAdmission(t *testing.T) {
	raw, err := json.Marshal(view(domain.Environment{ID: "env-abcdefgh2345", State: domain.StateReady}))
	require.NoError(t, err)

	assert.NotContains(t, string(raw), `"admission"`, "environments created before admission show none")
}
