package scheduler_test

import (
	"context"
	"encoding/json"
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/pave-platform/pave/pkg/rpc"
)

func (h *harness) limitLog(maxMsgs int64) {
	h.t.Helper()
	ctx := context.Background()
	s, err := h.js.Stream(ctx, "EVT_SCHEDULER")
	require.NoError(h.t, err)
	info, err := s.Info(ctx)
	require.NoError(h.t, err)
	cfg := info.Config
	cfg.MaxMsgs = maxMsgs
	if maxMsgs == 0 {
		cfg.MaxMsgs = int64(info.State.Msgs) // full as it is
	}
	_, err = h.js.UpdateStream(ctx, cfg)
	require.NoError(h.t, err)
}

// Issue 15: at a full EVT_SCHEDULER the leader cannot append; it stands
// down and waits, longer each time, instead of crash-looping (elect,
// replay, fail, at several elections a second). The API answers 503
// meanwhile; once there is room, it leads again and takes the work.
func TestFullLogStandsDownWithoutCrashLooping(t *testing.T) {
	h := newHarness(t)
	s, _ := h.start()
	require.Equal(t, http.StatusAccepted, h.call(rpc.WorkloadsSubmit, admin, nil, job("before", "a", 1)).Status)
	h.waitState("before", "admitted")
	h.limitLog(0)

	raw, err := json.Marshal(job("during", "a", 1))
	require.NoError(t, err)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	rep, err := rpc.Call(ctx, h.nc, rpc.WorkloadsSubmit, rpc.Request{Principal: admin, Body: raw})
	cancel()
	if err == nil {
		assert.Equal(t, http.StatusServiceUnavailable, rep.Status, "a submit the log cannot take is not accepted")
	}
	require.Eventually(t, func() bool { return s.StandingDown() != "" && !s.Leading() }, 15*time.Second, 20*time.Millisecond,
		"the scheduler never stood down")
	terms := s.Terms()
	require.Never(t, func() bool { return s.Terms() > terms+3 }, 3*time.Second, 50*time.Millisecond,
		"crash-looping: %d terms since it stood down", s.Terms()-terms)

	h.limitLog(-1)
	require.Equal(t, http.StatusAccepted, h.call(rpc.WorkloadsSubmit, admin, nil, job("after", "a", 1)).Status)
	h.waitState("after", "admitted")
	assert.Empty(t, s.StandingDown())
	code, _ := h.get("during", admin)
	assert.Equal(t, http.StatusNotFound, code, "the refused submit left nothing behind")
}
