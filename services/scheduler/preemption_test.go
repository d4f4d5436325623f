package scheduler_test

import (
	"context"
	"log/slog"
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/pave-platform/pave/pkg/bus"
	"github.com/pave-platform/pave/pkg/events"
	"github.com/pave-platform/pave/pkg/rpc"
	"github.com/pave-platform/pave/services/scheduler/runner"
)

// A job admitted by preempting a running job starts only after the
// victim's runner has reported it stopped: the two never run together.
// Team a borrows b's half of the batch pool with a preemptible job; team
// b claims its nominal quota back. The run commands and the runner's
// reports are watched on the wire, in the order they were published.
func TestPreemptorStartsAfterItsVictimStopped(t *testing.T) {
	h := newHarness(t)
	h.start()
	var mu sync.Mutex
	var seen []string
	sub, err := h.nc.Subscribe(">", func(m *nats.Msg) {
		if m.Subject == events.RunnerSubjectRun+"batch" || m.Subject == "pave.evt.runner.job.stopped" ||
			m.Subject == "pave.evt.runner.job.started" {
			mu.Lock()
			defer mu.Unlock()
			seen = append(seen, m.Subject+" "+m.Header.Get("ce-subject")+m.Header.Get(nats.MsgIdHdr))
		}
	})
	require.NoError(t, err)
	t.Cleanup(func() { _ = sub.Unsubscribe() })

	r, err := runner.New(newBus(t, h.srv.Conn(t)), bus.DefaultStreamOptions(),
		runner.Config{Pool: "batch", ID: "r1", Heartbeat: 100 * time.Millisecond}, slog.New(slog.DiscardHandler))
	require.NoError(t, err)
	require.NoError(t, r.Start(context.Background()))
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		_ = r.Stop(ctx)
	})

	keep := job("keep", "a", 4) // a's nominal quota, which preemption never takes
	keep["job"] = map[string]any{"command": "sleep", "args": []string{"60"}}
	require.Equal(t, http.StatusAccepted, h.call(rpc.WorkloadsSubmit, admin, nil, keep).Status)
	h.waitState("keep", "running")
	victim := job("victim", "a", 4)
	victim["preemptible"] = true
	victim["job"] = map[string]any{"command": "sleep", "args": []string{"60"}}
	require.Equal(t, http.StatusAccepted, h.call(rpc.WorkloadsSubmit, admin, nil, victim).Status)
	h.waitState("victim", "running")

	preemptor := job("preemptor", "b", 4)
	preemptor["job"] = map[string]any{"command": "sleep", "args": []string{"0.1"}}
	require.Equal(t, http.StatusAccepted, h.call(rpc.WorkloadsSubmit, admin, nil, preemptor).Status)
	h.waitState("preemptor", "finished")

	mu.Lock()
	defer mu.Unlock()
	// Each message shows up when it is published and again when a pull
	// consumer is handed it; the first sighting is the publish.
	stopped, dispatched := -1, -1
	for i, s := range seen {
		switch {
		case s == "pave.evt.runner.job.stopped victimvictim/1/stopped" && stopped < 0:
			stopped = i
		case s == events.RunnerSubjectRun+"batch preemptorpreemptor/run/1" && dispatched < 0:
			dispatched = i
		}
	}
	require.NotEqual(t, -1, stopped, "the victim's stop was reported: %v", seen)
	require.NotEqual(t, -1, dispatched, "the preemptor was dispatched: %v", seen)
	assert.Less(t, stopped, dispatched, "the preemptor was dispatched before its victim stopped: %v", seen)
	_, v := h.get("victim", admin)
	assert.Equal(t, float64(2), v["admission"], "the victim was queued again and, once b's job ended, admitted again")
}
