package audit

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// Stream is the ledger's stream (declared by pkg/bus CoreStreams).
const Stream = "AUDIT"

// maxBatch and maxBatchBytes bound one group commit (one message).
const (
	maxBatch      = 1024
	maxBatchBytes = 512 << 10
)

// fencedCodes are the publish errors of a failed expectation: wrong last
// sequence (10071, 10164 replicated) or wrong last message id (10070).
var fencedCodes = map[jetstream.ErrorCode]bool{
	jetstream.JSErrCodeStreamWrongLastSequence:         true,
	jetstream.JSErrCodeStreamWrongLastSequenceConstant: true,
	10070: true,
}

// Ledger appends records. Concurrent callers are committed together: the
// first waiting caller chains everybody's records in order and publishes
// them as one message (JSON lines), and each caller returns once that
// message is stored — no caller returns before its record is durable.
type Ledger struct {
	js     jetstream.JetStream
	now    func() time.Time
	signer *Signer

	mu       sync.Mutex
	pending  []*entry
	flushing bool

	// tail is owned by the flusher.
	tailKnown bool
	lastSeq   uint64
	lastHash  string
	lastID    string
}

type entry struct {
	rec  Record
	done chan error
}

// NewLedger returns a ledger on js's AUDIT stream.
func NewLedger(js jetstream.JetStream) *Ledger {
	return &Ledger{js: js, now: time.Now}
}

// WithSigner signs every record the ledger appends.
func (l *Ledger) WithSigner(s *Signer) *Ledger {
	l.signer = s
	return l
}

// Append stores the record and returns once it is in the stream.
func (l *Ledger) Append(ctx context.Context, r Record) error {
	if r.ID == "" {
		r.ID = NewID()
	}
	if r.Time.IsZero() {
		r.Time = l.now().UTC()
	}
	e := &entry{rec: r, done: make(chan error, 1)}
	l.mu.Lock()
	l.pending = append(l.pending, e)
	lead := !l.flushing
	l.flushing = true
	l.mu.Unlock()
	if lead {
		l.flush()
	}
	select {
	case err := <-e.done:
		return err
	case <-ctx.Done():
		return ctx.Err()
	}
}

// flush commits the pending records until none are left.
func (l *Ledger) flush() {
	for {
		l.mu.Lock()
		batch := l.pending[:min(len(l.pending), maxBatch)]
		l.pending = l.pending[len(batch):]
		if len(batch) == 0 {
			l.flushing = false
			l.mu.Unlock()
			return
		}
		l.mu.Unlock()
		for len(batch) > 0 {
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			n, err := l.commit(ctx, batch)
			cancel()
			if err != nil {
				for _, e := range batch {
					e.done <- err
				}
				break
			}
			for _, e := range batch[:n] {
				e.done <- nil
			}
			batch = batch[n:]
		}
	}
}

// commit stores a prefix of batch as one message, chaining again from the
// stream's tail whenever another writer appended first, and returns how
// many records it stored.
func (l *Ledger) commit(ctx context.Context, batch []*entry) (int, error) {
	for attempt := 0; ; attempt++ {
		if attempt > 50 {
			return 0, errors.New("audit: append kept losing the race for the chain's tail")
		}
		if !l.tailKnown {
			if err := l.readTail(ctx); err != nil {
				return 0, err
			}
		}
		n, err := l.publish(ctx, batch)
		if err == nil {
			return n, nil
		}
		l.tailKnown = false
		var apiErr *jetstream.APIError
		if !errors.As(err, &apiErr) || !fencedCodes[apiErr.ErrorCode] {
			return 0, err
		}
		// someone else appended: read the tail, chain again
	}
}

// publish chains a prefix of batch (up to maxBatchBytes) after the known
// tail and publishes it as one message — one write and one sync for the
// whole group — fenced on the last sequence, so the chain never forks.
func (l *Ledger) publish(ctx context.Context, batch []*entry) (int, error) {
	prev := l.lastHash
	buf := make([]byte, 0, 512*len(batch))
	n := 0
	for _, e := range batch {
		chain(&e.rec, prev, l.signer)
		raw, err := json.Marshal(e.rec)
		if err != nil {
			return 0, err
		}
		if n > 0 && len(buf)+1+len(raw) > maxBatchBytes {
			break
		}
		if n > 0 {
			buf = append(buf, '\n')
		}
		buf = append(buf, raw...)
		prev = e.rec.Hash
		n++
	}
	subject := Subject(batch[0].rec.Kind)
	if n > 1 {
		subject = Subject(KindBatch)
	}
	msg := nats.NewMsg(subject)
	msg.Data = buf
	msg.Header.Set(nats.MsgIdHdr, batch[0].rec.ID+"-"+batch[0].rec.Hash[:16])
	ack, err := l.js.PublishMsg(ctx, msg, jetstream.WithExpectLastSequence(l.lastSeq))
	if err != nil {
		return 0, fmt.Errorf("audit: append: %w", err)
	}
	if ack.Duplicate {
		l.tailKnown = false // stored by an earlier attempt
		return n, nil
	}
	l.lastSeq, l.lastHash, l.lastID = ack.Sequence, prev, batch[n-1].rec.ID
	return n, nil
}

// readTail loads the last record's sequence and hash.
func (l *Ledger) readTail(ctx context.Context) error {
	s, err := l.js.Stream(ctx, Stream)
	if err != nil {
		return fmt.Errorf("audit: %w", err)
	}
	info, err := s.Info(ctx)
	if err != nil {
		return fmt.Errorf("audit: %w", err)
	}
	l.lastSeq, l.lastHash, l.lastID = info.State.LastSeq, "", ""
	if info.State.Msgs > 0 {
		m, err := s.GetMsg(ctx, info.State.LastSeq)
		if err != nil {
			return fmt.Errorf("audit: read tail: %w", err)
		}
		recs, err := Records(m.Data)
		if err != nil || len(recs) == 0 {
			return fmt.Errorf("audit: tail record %d: %w", m.Sequence, err)
		}
		r := recs[len(recs)-1]
		l.lastHash, l.lastID = r.Hash, r.ID
	}
	l.tailKnown = true
	return nil
}
