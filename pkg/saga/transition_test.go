package saga_test

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"

	"github.com/pave-platform/pave/pkg/saga"
)

func timeoutAt(d time.Time) give {
	return func(saga.Instance) saga.Input { return saga.Timeout{Deadline: d} }
}

// rule is one row of the transition tables: inputs from a fresh
// instance "s1", and what they must leave behind.
type rule struct {
	name         string
	def          saga.Definition
	give         []give
	wantStatus   saga.Status
	wantSteps    string
	wantCommands []string
	wantAlerts   []string
	wantIgnored  []int
}

func checkRules(t *testing.T, tests []rule) {
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := drive(t, tt.def, tt.give...)

			assert.Equal(t, tt.wantStatus, r.inst.Status)
			assert.Equal(t, tt.wantSteps, steps(r.inst))
			assert.Equal(t, tt.wantCommands, r.commands)
			assert.Equal(t, tt.wantAlerts, r.alerts)
			assert.Equal(t, tt.wantIgnored, r.ignored)
			assert.Equal(t, len(tt.give)-len(tt.wantIgnored), r.progress, "one progress effect per transition")
			assert.Equal(t, r.progress, r.inst.Seq)
		})
	}
}

func TestTransitionForwardRules(t *testing.T) {
	noRef := withStep(def3(), 0, func(s *saga.Step) {
		s.Do = func(saga.Instance, saga.Ref) (saga.Command, error) {
			return saga.Command{Type: typeDo, Data: json.RawMessage(`{"resource":"x"}`)}, nil
		}
	})
	checkRules(t, []rule{
		{
			name: "steps run in order to completion",
			def:  def3(), give: []give{start(), ok("a", 1), ok("b", 1), ok("c", 1)},
			wantStatus: saga.StatusCompleted, wantSteps: "a:succeeded b:succeeded c:succeeded",
			wantCommands: ids("s1/", "a/1", "b/1", "c/1"),
		},
		{
			name: "starting again is a no-op",
			def:  def3(), give: []give{start(), start()},
			wantStatus: saga.StatusRunning, wantSteps: "a:running b:pending c:pending",
			wantCommands: ids("s1/", "a/1"), wantIgnored: []int{1},
		},
		{
			name: "a retryable failure waits the backoff, then retries",
			def:  def3(), give: []give{start(), fail("a", 1, true), due(), ok("a", 2), ok("b", 1), ok("c", 1)},
			wantStatus: saga.StatusCompleted, wantSteps: "a:succeeded b:succeeded c:succeeded",
			wantCommands: ids("s1/", "a/1", "a/2", "b/1", "c/1"),
		},
		{
			name: "running out of attempts compensates, the failed step included",
			def:  def3(), give: []give{start(), ok("a", 1), fail("b", 1, true), due(), fail("b", 2, true), undone("b", 1), undone("a", 1)},
			wantStatus: saga.StatusCompensated, wantSteps: "a:compensated b:compensated c:skipped",
			wantCommands: ids("s1/", "a/1", "b/1", "b/2", "b/undo/1", "a/undo/1"),
		},
		{
			name: "a permanent failure at step 3 compensates 3, then 2, then 1",
			def:  def3(), give: []give{start(), ok("a", 1), ok("b", 1), fail("c", 1, false), undone("c", 1), undone("b", 1), undone("a", 1)},
			wantStatus: saga.StatusCompensated, wantSteps: "a:compensated b:compensated c:compensated",
			wantCommands: ids("s1/", "a/1", "b/1", "c/1", "c/undo/1", "b/undo/1", "a/undo/1"),
		},
		{
			name: "timing out past the attempts compensates the step in doubt",
			def:  def3(), give: []give{start(), due(), due(), due(), undone("a", 1)},
			wantStatus: saga.StatusCompensated, wantSteps: "a:compensated b:skipped c:skipped",
			wantCommands: ids("s1/", "a/1", "a/2", "a/undo/1"),
		},
		{
			name: "a duplicate success is ignored",
			def:  def3(), give: []give{start(), ok("a", 1), ok("a", 1)},
			wantStatus: saga.StatusRunning, wantSteps: "a:succeeded b:running c:pending",
			wantCommands: ids("s1/", "a/1", "b/1"), wantIgnored: []int{2},
		},
		{
			name: "a failure of an older attempt is stale",
			def:  def3(), give: []give{start(), fail("a", 1, true), due(), fail("a", 1, true)},
			wantStatus: saga.StatusRunning, wantSteps: "a:running b:pending c:pending",
			wantCommands: ids("s1/", "a/1", "a/2"), wantIgnored: []int{3},
		},
		{
			name: "a late success of a timed-out attempt completes the step",
			def:  def3(), give: []give{start(), due(), due(), ok("a", 1), ok("a", 2)},
			wantStatus: saga.StatusRunning, wantSteps: "a:succeeded b:running c:pending",
			wantCommands: ids("s1/", "a/1", "a/2", "b/1"), wantIgnored: []int{4},
		},
		{
			name: "answers for unknown steps and attempts never issued are ignored",
			def:  def3(), give: []give{start(), ok("zz", 1), ok("a", 2), ok("b", 1), fail("a", 3, false), undone("a", 1)},
			wantStatus: saga.StatusRunning, wantSteps: "a:running b:pending c:pending",
			wantCommands: ids("s1/", "a/1"), wantIgnored: []int{1, 2, 3, 4, 5},
		},
		{
			name: "abort after the end is ignored",
			def:  def3(), give: []give{start(), ok("a", 1), ok("b", 1), ok("c", 1), abort()},
			wantStatus: saga.StatusCompleted, wantSteps: "a:succeeded b:succeeded c:succeeded",
			wantCommands: ids("s1/", "a/1", "b/1", "c/1"), wantIgnored: []int{4},
		},
		{
			name: "a timeout for an old deadline is stale",
			def:  def3(), give: []give{start(), fail("a", 1, true), timeoutAt(t0.Add(11 * time.Second)), ok("a", 1)},
			wantStatus: saga.StatusRunning, wantSteps: "a:succeeded b:running c:pending",
			wantCommands: ids("s1/", "a/1", "b/1"), wantIgnored: []int{2},
		},
		{
			name: "a Do that cannot build its command fails the step and compensates",
			def:  withStep(def3(), 1, func(s *saga.Step) { s.Do = failingDo }), give: []give{start(), ok("a", 1), undone("a", 1)},
			wantStatus: saga.StatusCompensated, wantSteps: "a:compensated b:skipped c:skipped",
			wantCommands: ids("s1/", "a/1", "a/undo/1"),
		},
		{
			name: "a command without its saga ref fails the step",
			def:  noRef, give: []give{start()},
			wantStatus: saga.StatusCompensated, wantSteps: "a:skipped b:skipped c:skipped",
		},
		{
			name: "a saga without steps completes when it starts",
			def:  saga.Definition{Name: "empty"}, give: []give{start()},
			wantStatus: saga.StatusCompleted,
		},
	})
}

func TestTransitionCompensationRules(t *testing.T) {
	slowUndoRetry := withStep(def3(), 0, func(s *saga.Step) {
		s.CompensationRetry = saga.RetryPolicy{MaxAttempts: 3, Backoff: 2 * time.Second}
	})
	checkRules(t, []rule{
		{
			name: "answers for a step already compensated are ignored",
			def:  def3(), give: []give{start(), fail("a", 1, false), undone("a", 1), undone("a", 1), undoFail("a", 1, false)},
			wantStatus: saga.StatusCompensated, wantSteps: "a:compensated b:skipped c:skipped",
			wantCommands: ids("s1/", "a/1", "a/undo/1"), wantIgnored: []int{3, 4},
		},
		{
			name: "null compensation: steps never issued are skipped, a failed one is undone",
			def:  def3(), give: []give{start(), ok("a", 1), fail("b", 1, false), undone("b", 1), undone("a", 1)},
			wantStatus: saga.StatusCompensated, wantSteps: "a:compensated b:compensated c:skipped",
			wantCommands: ids("s1/", "a/1", "b/1", "b/undo/1", "a/undo/1"),
		},
		{
			name: "a step with nothing to undo is compensated without a command",
			def: withStep(withStep(def3(), 0, func(s *saga.Step) { s.Undo = nothingToUndo }), 1,
				func(s *saga.Step) { s.Undo = nil }),
			give:       []give{start(), ok("a", 1), ok("b", 1), fail("c", 1, false), undone("c", 1)},
			wantStatus: saga.StatusCompensated, wantSteps: "a:compensated b:compensated c:compensated",
			wantCommands: ids("s1/", "a/1", "b/1", "c/1", "c/undo/1"),
		},
		{
			name: "hanging: a forward answer during the undo is undone once more",
			def:  def3(),
			give: []give{start(), ok("a", 1), due(), due(), due(), ok("b", 2), undone("b", 1), undone("b", 1),
				undone("b", 2), undone("a", 1)},
			wantStatus: saga.StatusCompensated, wantSteps: "a:compensated b:compensated c:skipped",
			wantCommands: ids("s1/", "a/1", "b/1", "b/2", "b/undo/1", "b/undo/2", "a/undo/1"), wantIgnored: []int{7},
		},
		{
			name: "hanging: a forward answer after the saga was compensated reopens it",
			def:  def3(), give: []give{start(), fail("a", 1, false), undone("a", 1), ok("a", 1), undone("a", 2)},
			wantStatus: saga.StatusCompensated, wantSteps: "a:compensated b:skipped c:skipped",
			wantCommands: ids("s1/", "a/1", "a/undo/1", "a/undo/2"),
		},
		{
			name: "hanging: a forward answer after compensation failed raises an alert",
			def:  def3(), give: []give{start(), fail("a", 1, false), undoFail("a", 1, false), ok("a", 1)},
			wantStatus: saga.StatusCompensationFailed, wantSteps: "a:failed b:skipped c:skipped",
			wantCommands: ids("s1/", "a/1", "a/undo/1"), wantAlerts: []string{"compensation_failed:a", "late_effect:a"},
		},
		{
			// Issue 19, finding 1: compensation stopped at b, leaving a's
			// resource behind although a's server was healthy.
			name: "an undo that keeps failing is alerted and the other steps are undone all the same",
			def:  def3(), give: []give{start(), ok("a", 1), fail("b", 1, false), undoFail("b", 1, true), due(), undone("a", 1)},
			wantStatus: saga.StatusCompensationFailed, wantSteps: "a:compensated b:failed c:skipped",
			wantCommands: ids("s1/", "a/1", "b/1", "b/undo/1", "b/undo/2", "a/undo/1"), wantAlerts: []string{"compensation_failed:b"},
		},
		{
			name: "resume undoes again what is left and ends compensated when it goes",
			def:  def3(), give: []give{start(), ok("a", 1), fail("b", 1, false), undoFail("b", 1, false), undone("a", 1),
				resume(), undoFail("b", 2, false), resume(), undone("b", 3)},
			wantStatus: saga.StatusCompensated, wantSteps: "a:compensated b:compensated c:skipped",
			wantCommands: ids("s1/", "a/1", "b/1", "b/undo/1", "a/undo/1", "b/undo/2", "b/undo/3"),
			wantAlerts:   []string{"compensation_failed:b"},
		},
		{
			name: "resume changes nothing unless the compensation failed",
			def:  def3(), give: []give{start(), ok("a", 1), resume(), fail("b", 1, false), resume(), undone("b", 1), undone("a", 1), resume()},
			wantStatus: saga.StatusCompensated, wantSteps: "a:compensated b:compensated c:skipped",
			wantCommands: ids("s1/", "a/1", "b/1", "b/undo/1", "a/undo/1"), wantIgnored: []int{2, 4, 7},
		},
		{
			name: "an undo retry waits its backoff; a late success of an earlier try counts",
			def:  slowUndoRetry, give: []give{start(), fail("a", 1, false), undoFail("a", 1, true), due(), undone("a", 1)},
			wantStatus: saga.StatusCompensated, wantSteps: "a:compensated b:skipped c:skipped",
			wantCommands: ids("s1/", "a/1", "a/undo/1", "a/undo/2"),
		},
		{
			name: "abort compensates a running saga, the step in flight included",
			def:  def3(), give: []give{start(), ok("a", 1), abort(), undone("b", 1), undone("a", 1)},
			wantStatus: saga.StatusCompensated, wantSteps: "a:compensated b:compensated c:skipped",
			wantCommands: ids("s1/", "a/1", "b/1", "b/undo/1", "a/undo/1"),
		},
		{
			name:       "an Undo that cannot build its command ends compensation_failed",
			def:        withStep(def3(), 0, func(s *saga.Step) { s.Undo = failingUndo }),
			give:       []give{start(), ok("a", 1), fail("b", 1, false), undone("b", 1)},
			wantStatus: saga.StatusCompensationFailed, wantSteps: "a:failed b:compensated c:skipped",
			wantCommands: ids("s1/", "a/1", "b/1", "b/undo/1"), wantAlerts: []string{"compensation_failed:a"},
		},
	})
}
