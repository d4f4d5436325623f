package audit

import (
	"context"
	"crypto/rand"
	"encoding/hex"
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

// maxBatch bounds one group commit.
const maxBatch = 256

// fencedCodes are the publish errors of a failed expectation: wrong last
// sequence (10071, 10164 replicated) or wrong last message id (10070).
var fencedCodes = map[jetstream.ErrorCode]bool{
	jetstream.JSErrCodeStreamWrongLastSequence:         true,
	jetstream.JSErrCodeStreamWrongLastSequenceConstant: true,
	10070: true,
}

// Ledger appends records. Concurrent callers are committed together: the
// first waiting caller publishes everybody's records, pipelined, and each
// caller returns once its record is stored.
type Ledger struct {
	js  jetstream.JetStream
	now func() time.Time

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

// NewID is a random record id.
func NewID() string {
	var b [12]byte
	_, _ = rand.Read(b[:])
	return "aud-" + hex.EncodeToString(b[:])
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
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		err := l.commit(ctx, batch)
		cancel()
		for _, e := range batch {
			e.done <- err
		}
	}
}

// commit publishes batch, chaining again from the stream's tail whenever
// another writer appended first.
func (l *Ledger) commit(ctx context.Context, batch []*entry) error {
	for attempt := 0; len(batch) > 0; attempt++ {
		if attempt > 50 {
			return errors.New("audit: append kept losing the race for the chain's tail")
		}
		if !l.tailKnown {
			if err := l.readTail(ctx); err != nil {
				return err
			}
		}
		stored, err := l.publish(ctx, batch)
		batch = batch[stored:]
		if err == nil {
			return nil
		}
		var apiErr *jetstream.APIError
		if !errors.As(err, &apiErr) || !fencedCodes[apiErr.ErrorCode] {
			l.tailKnown = false
			return err
		}
		l.tailKnown = false // someone else appended: read the tail, chain again
	}
	return nil
}

// publish chains and publishes batch pipelined: the first fenced on the
// last sequence, each next on the id of the one before. It returns how
// many were stored before an error.
func (l *Ledger) publish(ctx context.Context, batch []*entry) (int, error) {
	futures := make([]jetstream.PubAckFuture, 0, len(batch))
	prev := l.lastHash
	for i, e := range batch {
		e.rec.chain(prev)
		prev = e.rec.Hash
		raw, err := json.Marshal(e.rec)
		if err != nil {
			return 0, err
		}
		msg := nats.NewMsg(Subject(e.rec.Kind))
		msg.Data = raw
		msg.Header.Set(nats.MsgIdHdr, e.rec.ID+"-"+e.rec.Hash[:16])
		fence := jetstream.WithExpectLastSequence(l.lastSeq)
		if i > 0 {
			fence = jetstream.WithExpectLastMsgID(msg0ID(batch[i-1]))
		}
		f, err := l.js.PublishMsgAsync(msg, fence)
		if err != nil {
			return 0, fmt.Errorf("audit: append: %w", err)
		}
		futures = append(futures, f)
	}
	for i, f := range futures {
		select {
		case ack := <-f.Ok():
			if ack.Duplicate || ack.Sequence != l.lastSeq+1 {
				l.tailKnown = false
				return i + 1, nil
			}
			l.lastSeq, l.lastHash, l.lastID = ack.Sequence, batch[i].rec.Hash, batch[i].rec.ID
		case err := <-f.Err():
			return i, err
		case <-ctx.Done():
			l.tailKnown = false
			return i, ctx.Err()
		}
	}
	return len(batch), nil
}

func msg0ID(e *entry) string { return e.rec.ID + "-" + e.rec.Hash[:16] }

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
		var r Record
		if err := json.Unmarshal(m.Data, &r); err != nil {
			return fmt.Errorf("audit: tail record %d: %w", m.Sequence, err)
		}
		l.lastHash, l.lastID = r.Hash, r.ID
	}
	l.tailKnown = true
	return nil
}
