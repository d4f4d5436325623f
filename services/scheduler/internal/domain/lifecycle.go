package domain

import (
	"fmt"
	"sort"
	"time"
)

// Apply records what a scheduling pass decided: cancellations first, then
// preemptions (back to the queue, waiting from now), then admissions.
func (s *State) Apply(d Decisions, now time.Time) error {
	for _, c := range d.Cancel {
		if _, ok := s.queued[c.ID]; !ok {
			return fmt.Errorf("apply cancel %s: %w", c.ID, ErrUnknownWorkload)
		}
		delete(s.queued, c.ID)
		s.failed[c.ID] = c.Reason
	}
	for _, p := range d.Preempt {
		e, ok := s.admitted[p.ID]
		if !ok {
			return fmt.Errorf("apply preempt %s: %w", p.ID, ErrUnknownWorkload)
		}
		delete(s.admitted, p.ID)
		e.since = now
		s.queued[p.ID] = e
	}
	for _, id := range d.Admit {
		e, ok := s.queued[id]
		if !ok {
			return fmt.Errorf("apply admit %s: %w", id, ErrUnknownWorkload)
		}
		delete(s.queued, id)
		e.since = now
		s.admitted[id] = e
	}
	return nil
}

// Finish releases an admitted workload that ended well (a job that
// succeeded, an environment torn down). Its children become eligible.
//
// A queued workload may finish too: a job whose admission was taken back
// (its runner went quiet) but that ran to its end after all, reported
// before it was admitted again. It is not run a second time.
func (s *State) Finish(id string, now time.Time) error {
	switch {
	case s.admitted[id] != nil:
		delete(s.admitted, id)
	case s.queued[id] != nil:
		delete(s.queued, id)
	default:
		return fmt.Errorf("finish %s: %w", id, ErrUnknownWorkload)
	}
	s.finished[id] = now
	return nil
}

// Fail releases or dequeues a workload that failed, timed out or was
// cancelled. The next pass cancels its children with the reason.
func (s *State) Fail(id, reason string) error {
	switch {
	case s.admitted[id] != nil:
		delete(s.admitted, id)
	case s.queued[id] != nil:
		delete(s.queued, id)
	default:
		return fmt.Errorf("fail %s: %w", id, ErrUnknownWorkload)
	}
	s.failed[id] = reason
	return nil
}

// Forget drops what the state remembers of an ended workload (its
// children's eligibility was decided by it); a live one stays. After it,
// the id is unknown.
func (s *State) Forget(id string) {
	delete(s.finished, id)
	delete(s.failed, id)
}

// Status says where a workload is.
func (s *State) Status(id string) Status {
	switch {
	case s.queued[id] != nil:
		return StatusQueued
	case s.admitted[id] != nil:
		return StatusAdmitted
	}
	if _, ok := s.finished[id]; ok {
		return StatusFinished
	}
	if _, ok := s.failed[id]; ok {
		return StatusFailed
	}
	return StatusUnknown
}

// FailureReason is why a failed or cancelled workload ended.
func (s *State) FailureReason(id string) string { return s.failed[id] }

// Running lists admitted workloads with their admission times, by ID.
func (s *State) Running() []Admission {
	out := make([]Admission, 0, len(s.admitted))
	for _, e := range s.admitted {
		out = append(out, Admission{Workload: e.w, At: e.since})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Workload.ID < out[j].Workload.ID })
	return out
}

// Admission is an admitted workload and when it was admitted.
type Admission struct {
	Workload Workload
	At       time.Time
}

// Pool returns a pool by name.
func (s *State) Pool(name string) (Pool, bool) {
	p, ok := s.pools[name]
	if !ok {
		return Pool{}, false
	}
	return p.pool, true
}
