package bus

import (
	"sync"

	"github.com/nats-io/nats.go/jetstream"
)

// laneTurn is how many messages a lane works before it lets a waiting
// lane have its slot (so one busy key cannot starve the others).
const laneTurn = 64

// lanes work each ordering key on a lane of its own: the messages of one
// key one after another in arrival order, different keys in parallel, at
// most max lanes at once. Fixed workers keyed by hash put unrelated keys
// behind each other (one slow receiver holds up every key that shares
// its worker); a lane holds up only its own key. Memory is bounded by the
// consumer's MaxAckPending: the server hands out no more unacknowledged
// messages than that, and a lane that runs dry is forgotten.
type lanes struct {
	work func(jetstream.Msg)
	max  int

	mu      sync.Mutex
	byKey   map[string]*lane // keys with messages queued or one running
	ready   []*lane          // lanes waiting for a slot, oldest first
	running int
	closed  bool
	wg      sync.WaitGroup
}

type lane struct {
	key  string
	msgs []jetstream.Msg
}

func newLanes(max int, work func(jetstream.Msg)) *lanes {
	return &lanes{work: work, max: max, byKey: map[string]*lane{}}
}

// add queues m on its key's lane, starting the lane if a slot is free.
// After close, m goes back to the server at once.
func (l *lanes) add(key string, m jetstream.Msg) {
	l.mu.Lock()
	if l.closed {
		l.mu.Unlock()
		_ = m.Nak()
		return
	}
	if ln, ok := l.byKey[key]; ok {
		ln.msgs = append(ln.msgs, m)
		l.mu.Unlock()
		return
	}
	ln := &lane{key: key, msgs: []jetstream.Msg{m}}
	l.byKey[key] = ln
	if l.running < l.max {
		l.running++
		l.wg.Add(1)
		go l.run(ln)
	} else {
		l.ready = append(l.ready, ln)
	}
	l.mu.Unlock()
}

// run works ln, then whichever lane waits next, until none waits.
func (l *lanes) run(ln *lane) {
	defer l.wg.Done()
	for ln != nil {
		for range laneTurn {
			m := l.take(ln)
			if m == nil {
				break
			}
			l.work(m)
		}
		ln = l.next(ln)
	}
}

// take is ln's next message, nil when it has none (or the lanes closed).
func (l *lanes) take(ln *lane) jetstream.Msg {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.closed || len(ln.msgs) == 0 {
		return nil
	}
	m := ln.msgs[0]
	ln.msgs[0] = nil
	ln.msgs = ln.msgs[1:]
	return m
}

// next ends ln's turn: ln is forgotten when it ran dry, else queued
// behind the waiting lanes; the slot goes to the oldest waiting lane.
func (l *lanes) next(ln *lane) *lane {
	l.mu.Lock()
	defer l.mu.Unlock()
	if len(ln.msgs) == 0 || l.closed {
		if l.byKey[ln.key] == ln {
			delete(l.byKey, ln.key)
		}
	} else {
		l.ready = append(l.ready, ln)
	}
	if l.closed || len(l.ready) == 0 {
		l.running--
		return nil
	}
	nx := l.ready[0]
	l.ready[0] = nil
	l.ready = l.ready[1:]
	return nx
}

// close naks every message not started (another instance takes them at
// once) and waits for the running ones.
func (l *lanes) close() {
	l.mu.Lock()
	var back []jetstream.Msg
	if !l.closed {
		l.closed = true
		for _, ln := range l.byKey {
			back = append(back, ln.msgs...)
			ln.msgs = nil
		}
		l.byKey = map[string]*lane{}
		l.ready = nil
	}
	l.mu.Unlock()
	for _, m := range back {
		_ = m.Nak()
	}
}

// wait returns once every running lane has finished its message.
func (l *lanes) wait() { l.wg.Wait() }
