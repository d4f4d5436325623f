package saga

import (
	"slices"
	"sync"
)

// sentLog remembers the outbox entries this engine published but did not
// yet remove from the stored instance. Removing them costs a write of its
// own; instead, the next transition's write drops them (or, when the saga
// ended or waits longer than the grace, the background part does).
// Entries are removed as soon as a write no longer holds them, so the log
// holds at most the outboxes of the live sagas.
type sentLog struct {
	mu  sync.Mutex
	ids map[string]map[string]bool // saga id → published effect ids
}

func newSentLog() *sentLog { return &sentLog{ids: map[string]map[string]bool{}} }

// add records effect ids of saga id as published.
func (l *sentLog) add(id string, sent map[string]bool) {
	if len(sent) == 0 {
		return
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	m := l.ids[id]
	if m == nil {
		m = make(map[string]bool, len(sent))
		l.ids[id] = m
	}
	for k := range sent {
		m[k] = true
	}
}

// has says whether effect eff of saga id was published.
func (l *sentLog) has(id, eff string) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.ids[id][eff]
}

// strip returns inst without the outbox entries already published, and
// whether it dropped any.
func (l *sentLog) strip(inst Instance) (Instance, bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	m := l.ids[inst.ID]
	if len(m) == 0 || !slices.ContainsFunc(inst.Outbox, func(eff Effect) bool { return m[eff.ID] }) {
		return inst, false
	}
	inst = inst.clone()
	inst.Outbox = slices.DeleteFunc(inst.Outbox, func(eff Effect) bool { return m[eff.ID] })
	return inst, true
}

// stored prunes what a write of inst no longer holds.
func (l *sentLog) stored(inst Instance) {
	l.mu.Lock()
	defer l.mu.Unlock()
	m := l.ids[inst.ID]
	if m == nil {
		return
	}
	held := make(map[string]bool, len(inst.Outbox))
	for _, eff := range inst.Outbox {
		held[eff.ID] = true
	}
	for k := range m {
		if !held[k] {
			delete(m, k)
		}
	}
	if len(m) == 0 {
		delete(l.ids, inst.ID)
	}
}

// forget drops saga id (deleted).
func (l *sentLog) forget(id string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	delete(l.ids, id)
}

// size is the number of sagas with published entries still stored.
func (l *sentLog) size() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.ids)
}
