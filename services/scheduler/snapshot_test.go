package scheduler_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/pave-platform/pave/pkg/events"
	"github.com/pave-platform/pave/pkg/rpc"
)

// elections are the leadership events of the log, in order.
func (h *harness) elections() []events.LeaderElected {
	var out []events.LeaderElected
	for _, e := range h.logEvents() {
		if e.Type() == events.TypeSchedulerLeadership {
			var d events.LeaderElected
			require.NoError(h.t, json.Unmarshal(e.Data(), &d))
			out = append(out, d)
		}
	}
	return out
}

// Issue 15: a leader that stops cleanly writes a snapshot; the next one
// restores it and reads only the log after it, and knows everything the
// first knew. Without a snapshot (the first leader) the whole log is read.
func TestNewLeaderReadsTheSnapshotAndOnlyTheTail(t *testing.T) {
	h := newHarness(t)
	first, _ := h.start()
	const n = 30
	for i := range n {
		w := job(fmt.Sprintf("s%02d", i), "a", 1)
		w["preemptible"] = true
		require.Equal(t, http.StatusAccepted, h.call(rpc.WorkloadsSubmit, admin, nil, w).Status)
	}
	// Two leave the queue, so the snapshot holds ended work as well.
	for _, id := range []string{"s28", "s29"} {
		require.Equal(t, http.StatusOK, h.call(rpc.WorkloadsCancel, admin, map[string]string{"id": id}, nil).Status)
	}
	h.waitState("s29", "cancelled")
	before := map[string]map[string]any{}
	for i := range n {
		id := fmt.Sprintf("s%02d", i)
		_, v := h.get(id, admin)
		delete(v, "reason") // recomputed by the next pass
		before[id] = v
	}
	logged := len(h.logEvents())
	require.Greater(t, logged, n, "the first leader wrote the submits and admissions")

	second, _ := h.start()
	stop(t, first) // a clean stop: the snapshot is written, the standby takes over
	require.Eventually(t, second.Leading, 15*time.Second, 20*time.Millisecond, "the standby never took over")
	var el []events.LeaderElected
	require.Eventually(t, func() bool { el = h.elections(); return len(el) == 2 }, 10*time.Second, 20*time.Millisecond,
		"no second leadership event in the log")
	assert.Equal(t, int64(0), el[0].Replayed, "the first leader found an empty log")
	// The tail is what the first leader appended after its snapshot: at
	// most the events of its last moments, never the history.
	assert.Less(t, el[1].Replayed, int64(5), "the new leader read %d events of %d", el[1].Replayed, logged)

	for id, want := range before {
		_, got := h.get(id, admin)
		delete(got, "reason")
		assert.Equal(t, want, got, id)
	}
	// It goes on from there: a new submit is queued behind the others.
	require.Equal(t, http.StatusAccepted, h.call(rpc.WorkloadsSubmit, admin, nil, job("after", "a", 1)).Status)
	h.waitState("after", "queued")
}
