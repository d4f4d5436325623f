package app

import (
	"time"

	"github.com/pave-platform/pave/pkg/events"
	"github.com/pave-platform/pave/services/scheduler/internal/domain"
)

// heldRun is a job admitted by preempting running jobs. It is dispatched
// once every victim's runner has said the victim ended, so the preemptor
// never runs beside the work it displaced; a runner that says nothing
// within the runner timeout does not hold it longer.
type heldRun struct {
	run     events.RunCommand
	victims map[victim]bool
	until   time.Time
}

type victim struct {
	id        string
	admission int
}

// holdForVictims keeps back the run commands of this iteration's
// preemptors whose victims are jobs a runner has started. It is called
// before the preemptions are emitted, while the victims' metas still name
// their admissions and runners.
func (t *tx) holdForVictims(preempts []domain.Preemption) map[string]bool {
	held := map[string]bool{}
	c := t.l.core
	for _, p := range preempts {
		m := c.metas[p.ID]
		if m == nil || m.spec.Kind != events.WorkloadKindJob || m.runner == "" {
			continue // nothing runs that could overlap (an unstarted job is dropped by its runner)
		}
		h := t.l.held[p.By]
		if h == nil {
			h = &heldRun{victims: map[victim]bool{}, until: t.now.Add(t.l.opts.RunnerTimeout)}
			t.l.held[p.By] = h
		}
		h.victims[victim{p.ID, m.admission}] = true
		held[p.By] = true
	}
	return held
}

// victimEnded is called for every runner report that a job ended; the
// runs that waited only for it are dispatched with this batch.
func (t *tx) victimEnded(id string, admission int) {
	for by, h := range t.l.held {
		if h.victims[victim{id, admission}] {
			delete(h.victims, victim{id, admission})
			if len(h.victims) == 0 {
				t.releaseHeld(by, h)
			}
		}
	}
}

// releaseOverdue dispatches held runs whose victims' runners stayed
// silent past the runner timeout.
func (t *tx) releaseOverdue() {
	for by, h := range t.l.held {
		if t.now.Before(h.until) {
			continue
		}
		if h.run.WorkloadID != "" {
			t.l.logger.Warn("preempted jobs did not report their end in time; starting the preemptor",
				"workload", by, "victims", len(h.victims))
		}
		t.releaseHeld(by, h)
	}
}

// releaseHeld dispatches a held run if its admission is still current.
func (t *tx) releaseHeld(by string, h *heldRun) {
	delete(t.l.held, by)
	if h.run.WorkloadID == "" {
		return // its admission has not been emitted yet; nothing to hold
	}
	if m := t.l.core.current(h.run.WorkloadID, h.run.Admission); m != nil && t.l.core.state.Status(m.spec.ID) == domain.StatusAdmitted {
		t.dispatch(h.run)
	}
}
