package scheduler_test

import (
	"context"
	"log/slog"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/pave-platform/pave/pkg/bus"
	"github.com/pave-platform/pave/pkg/events"
	"github.com/pave-platform/pave/pkg/rpc"
	"github.com/pave-platform/pave/services/scheduler/runner"
)

// startRunner runs a runner of the batch pool, stopped at cleanup.
func (h *harness) startRunner(cfg runner.Config) *runner.Runner {
	h.t.Helper()
	cfg.Pool = "batch"
	cfg.Heartbeat = 100 * time.Millisecond
	r, err := runner.New(newBus(h.t, h.srv.Conn(h.t)), bus.DefaultStreamOptions(), cfg, slog.New(slog.DiscardHandler))
	require.NoError(h.t, err)
	require.NoError(h.t, r.Start(context.Background()))
	h.t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		_ = r.Stop(ctx)
	})
	return r
}

// Issue 15: a job with 64 KiB of output cost 77 KB of EVT_RUNNER. The
// output goes to the JOB_OUTPUT object store; the report carries its last
// 4 KiB, and GET /v1/workloads/{id} still shows it whole.
func TestJobOutputLivesInTheObjectStoreNotInEvents(t *testing.T) {
	h := newHarness(t)
	h.start()
	h.startRunner(runner.Config{ID: "r1"})

	chatty := job("chatty", "a", 1)
	chatty["job"] = map[string]any{"command": "sh", "args": []string{"-c",
		`i=0; while [ $i -lt 5000 ]; do echo "line $i of a long log"; i=$((i+1)); done; echo the-last-line`}}
	require.Equal(t, http.StatusAccepted, h.call(rpc.WorkloadsSubmit, admin, nil, chatty).Status)
	v := h.waitState("chatty", "finished")

	out, _ := v["output"].(string)
	assert.True(t, strings.HasPrefix(out, "line 0 of a long log\n"), "the API shows the whole output")
	assert.True(t, strings.HasSuffix(out, "line 4999 of a long log\nthe-last-line\n"))
	assert.Greater(t, len(out), 100_000)

	s, err := h.js.Stream(context.Background(), "EVT_RUNNER")
	require.NoError(t, err)
	m, err := s.GetLastMsgForSubject(context.Background(), "pave.evt.runner.job.finished")
	require.NoError(t, err)
	assert.Less(t, len(m.Data), events.MaxLoggedOutput+1024, "the report carries only the output's tail")
	e, err := bus.Decode(m.Header, m.Data)
	require.NoError(t, err)
	var finished events.JobFinished
	require.NoError(t, e.DataAs(&finished))
	assert.True(t, strings.HasSuffix(finished.Output, "the-last-line\n"))
	assert.LessOrEqual(t, len(finished.Output), events.MaxLoggedOutput)

	obs, err := h.js.ObjectStore(context.Background(), "JOB_OUTPUT")
	require.NoError(t, err)
	st, err := obs.Status(context.Background())
	require.NoError(t, err)
	assert.Equal(t, runner.DefaultOutputTTL, st.TTL(), "the store has its own retention")
	assert.Equal(t, jetstream.FileStorage, st.Storage())
}
