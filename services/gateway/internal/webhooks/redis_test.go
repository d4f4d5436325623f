package webhooks

import (
	"bytes"
	"encoding/json"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/pave-platform/pave/pkg/dedup"
	"github.com/pave-platform/pave/pkg/testkit"
)

// With PAVE_REDIS_URL the gateway remembers deliveries in Redis; a replay
// is recognised the same way.
func TestReplayIsRecognisedWithRedisDedup(t *testing.T) {
	r := newRig(t, nil)
	srv := testkit.Redis(t)
	rdb := redis.NewClient(&redis.Options{Addr: srv.Addr()})
	t.Cleanup(func() { _ = rdb.Close() })
	h := NewReceiver(r.repos, dedup.NewRedis(rdb, "pave:webhook:delivery:", 7*24*time.Hour), r.bus, slog.New(slog.DiscardHandler), nil).Handler()
	body, id := fixture(t, "github/pull_request_opened.json"), newDelivery()
	send := func() (int, map[string]any) {
		req := httptest.NewRequest(http.MethodPost, "/v1/webhooks/github", bytes.NewReader(body))
		req.Header.Set("X-GitHub-Event", "pull_request")
		req.Header.Set("X-GitHub-Delivery", id)
		req.Header.Set("X-Hub-Signature-256", SignGitHub([]byte(secretNew), body))
		w := httptest.NewRecorder()
		h.ServeHTTP(w, req)
		var out map[string]any
		_ = json.Unmarshal(w.Body.Bytes(), &out)
		return w.Code, out
	}
	code, _ := send()
	require.Equal(t, http.StatusAccepted, code)
	code, out := send()
	assert.Equal(t, http.StatusOK, code)
	assert.Equal(t, true, out["duplicate"])
	ttl, err := rdb.TTL(t.Context(), "pave:webhook:delivery:github/"+id).Result()
	require.NoError(t, err)
	assert.Greater(t, ttl, 6*24*time.Hour, "remembered for at least 7 days")
	require.Eventually(t, func() bool { return r.life.byName("hello-world-pr-2") != nil }, 10*time.Second, 20*time.Millisecond)
	assert.Equal(t, 1, r.life.count("create"))
}
