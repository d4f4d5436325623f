package saga

import (
	"sync"
	"time"
)

// maxRetryDelay caps the wait between tries of a timer or an outbox that
// keeps failing.
const maxRetryDelay = 10 * time.Second

// schedule is the background part's agenda: per saga, a deadline to fire
// and an outbox to publish. It learns from this engine's writes and from
// the bucket's watcher, which also carries the writes of other replicas.
type schedule struct {
	mu   sync.Mutex
	due  map[string]*work
	wake chan struct{}
}

type work struct {
	rev      uint64    // the revision this work was computed from
	seq      int       // the instance's Seq at that revision
	deadline time.Time // the instance deadline to deliver as Timeout
	fireAt   time.Time // when to deliver it; zero: nothing to fire
	flushAt  time.Time // when to publish the outbox; zero: it is empty
	failures int       // tries that failed since the last new revision
}

// task is one piece of due work.
type task struct {
	id       string
	deadline time.Time
	fire     bool
	flush    bool
}

func newSchedule() *schedule {
	return &schedule{due: map[string]*work{}, wake: make(chan struct{}, 1)}
}

// note records revision rev of an instance. An outbox is published after
// grace: the engine that wrote it is expected to publish it first.
func (s *schedule) note(inst Instance, rev uint64, now time.Time, grace time.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	w := s.due[inst.ID]
	if w == nil {
		w = &work{}
	} else if rev <= w.rev {
		return
	}
	w.rev, w.seq, w.failures = rev, inst.Seq, 0
	switch {
	case inst.Status.Terminal() || inst.Deadline.IsZero():
		w.deadline, w.fireAt = time.Time{}, time.Time{}
	case !w.deadline.Equal(inst.Deadline) || w.fireAt.IsZero():
		w.deadline, w.fireAt = inst.Deadline, inst.Deadline
	}
	switch {
	case len(inst.Outbox) == 0:
		w.flushAt = time.Time{}
	case w.flushAt.IsZero() || now.Add(grace).Before(w.flushAt):
		w.flushAt = now.Add(grace)
	}
	if w.fireAt.IsZero() && w.flushAt.IsZero() {
		delete(s.due, inst.ID)
	} else {
		s.due[inst.ID] = w
	}
	s.poke()
}

// published notes that this engine published the outbox of the
// instance at seq, leaving the entries stored for the next write to
// remove. Unless a later revision came since, that removal is put off to
// grace from now: a saga that moves on within it never needs a write of
// its own for it, one that waits longer gets one.
func (s *schedule) published(id string, seq int, now time.Time, grace time.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	w := s.due[id]
	if w == nil || w.seq != seq || w.flushAt.IsZero() {
		return
	}
	w.flushAt = now.Add(grace)
	s.poke()
}

func (s *schedule) size() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.due)
}

func (s *schedule) forget(id string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.due, id)
}

func (s *schedule) poke() {
	select {
	case s.wake <- struct{}{}:
	default:
	}
}

// take returns the work due at now, and puts it off by a growing retry
// delay: a success notes a new revision, which replaces the delay.
func (s *schedule) take(now time.Time, retryDelay time.Duration) []task {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []task
	for id, w := range s.due {
		t := task{id: id, deadline: w.deadline,
			fire:  !w.fireAt.IsZero() && !w.fireAt.After(now),
			flush: !w.flushAt.IsZero() && !w.flushAt.After(now)}
		if !t.fire && !t.flush {
			continue
		}
		later := now.Add(min(retryDelay<<min(w.failures, 16), maxRetryDelay))
		w.failures++
		if t.fire {
			w.fireAt = later
		}
		if t.flush {
			w.flushAt = later
		}
		out = append(out, t)
	}
	return out
}

// wait is how long until the next work is due; an hour when there is none.
func (s *schedule) wait(now time.Time) time.Duration {
	s.mu.Lock()
	defer s.mu.Unlock()
	next := now.Add(time.Hour)
	for _, w := range s.due {
		for _, at := range []time.Time{w.fireAt, w.flushAt} {
			if !at.IsZero() && at.Before(next) {
				next = at
			}
		}
	}
	return max(next.Sub(now), 0)
}
