package saga

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// maxCASTries bounds the compare-and-set loop; every lost round means
// another writer made progress, so reaching it means heavy contention.
const maxCASTries = 64

// stored is an instance as the bucket holds it.
type stored struct {
	inst Instance
	raw  []byte
	rev  uint64 // 0: the key does not exist
}

// errExists: create found the key taken.
var errExists = errors.New("saga exists")

// create stores saga id as Start makes it, if the key is free; errExists
// if it is taken (Start then applies itself to what is stored).
func (e *Engine) create(ctx context.Context, def Definition, id string, data json.RawMessage) (Instance, error) {
	if !ValidID(id) {
		return Instance{}, fmt.Errorf("%w: saga id %q", ErrInvalidInput, id)
	}
	cur := Instance{ID: id, Trace: traceOf(ctx)}
	next, _, err := Transition(def, cur, Start{Data: data}, e.now())
	if err != nil {
		return Instance{}, err
	}
	val, err := json.Marshal(next)
	if err != nil {
		return Instance{}, fmt.Errorf("encode saga %s: %w", id, err)
	}
	rev, err := e.kv.Create(ctx, id, val)
	if isConflict(err) {
		return Instance{}, errExists
	}
	if err != nil {
		return Instance{}, fmt.Errorf("store saga %s: %w", id, err)
	}
	e.sched.note(next, rev, e.now(), e.grace)
	return next, nil
}

func (e *Engine) load(ctx context.Context, id string) (stored, error) {
	if !ValidID(id) {
		return stored{}, fmt.Errorf("%w: saga id %q", ErrInvalidInput, id)
	}
	entry, err := e.kv.Get(ctx, id)
	if errors.Is(err, jetstream.ErrKeyNotFound) {
		return stored{}, ErrNotFound
	}
	if err != nil {
		return stored{}, fmt.Errorf("read saga %s: %w", id, err)
	}
	s := stored{raw: entry.Value(), rev: entry.Revision()}
	if err := json.Unmarshal(s.raw, &s.inst); err != nil {
		return stored{}, fmt.Errorf("decode saga %s at revision %d: %w", id, s.rev, err)
	}
	return s, nil
}

// update applies change to the stored instance with a compare-and-set on
// its revision. After a conflict it reads the instance again and applies
// change again, so change must depend on nothing but the instance it is
// given. When change leaves the instance as it was, nothing is written.
func (e *Engine) update(ctx context.Context, id string, change func(cur Instance, exists bool) (Instance, error)) (Instance, error) {
	return e.updateLazily(ctx, id, true, change)
}

// updateLazily is update; with lazy, an input that changes nothing but
// the removal of published outbox entries writes nothing (the next write
// removes them). Settling the outbox is not lazy: that removal is its
// point.
func (e *Engine) updateLazily(ctx context.Context, id string, lazy bool, change func(cur Instance, exists bool) (Instance, error)) (Instance, error) {
	for tries := 1; ; tries++ {
		cur, err := e.load(ctx, id)
		if err != nil && !errors.Is(err, ErrNotFound) {
			return Instance{}, err
		}
		// What this engine published leaves the outbox with this write.
		base, stripped := e.sent.strip(cur.inst)
		next, err := change(base, cur.rev != 0)
		if err != nil {
			return cur.inst, err
		}
		val, err := json.Marshal(next)
		if err != nil {
			return cur.inst, fmt.Errorf("encode saga %s: %w", id, err)
		}
		if bytes.Equal(val, cur.raw) || lazy && stripped && next.Seq == base.Seq && unchanged(base, val) {
			// Still worth noting: the schedule may hold an older revision.
			// An input that changes nothing writes nothing, not even the
			// removal of published entries: the next write does that.
			if cur.rev != 0 {
				e.sched.note(cur.inst, cur.rev, e.now(), e.grace)
			}
			return cur.inst, nil
		}
		rev, err := e.write(ctx, id, val, cur.rev, e.ended(next))
		if err == nil {
			e.sent.stored(next)
			e.sched.note(next, rev, e.now(), e.grace)
			e.metrics.ended(ctx, cur.inst, next)
			return next, nil
		}
		if !isConflict(err) || tries >= maxCASTries || ctx.Err() != nil {
			return cur.inst, fmt.Errorf("store saga %s at revision %d: %w", id, cur.rev, err)
		}
	}
}

// unchanged says whether val encodes base (asked only when the change
// made no transition: every transition moves Seq).
func unchanged(base Instance, val []byte) bool {
	raw, err := json.Marshal(base)
	return err == nil && bytes.Equal(raw, val)
}

// ended says whether inst is written for the last time: it ended and
// has nothing left to publish. With a retention, that write expires.
func (e *Engine) ended(inst Instance) bool {
	return e.retention > 0 && inst.Status.Terminal() && len(inst.Outbox) == 0
}

func (e *Engine) write(ctx context.Context, id string, val []byte, rev uint64, expires bool) (uint64, error) {
	if rev == 0 {
		return e.kv.Create(ctx, id, val)
	}
	if !expires {
		return e.kv.Update(ctx, id, val, rev)
	}
	// The compare-and-set of Update, with the message's TTL.
	ack, err := e.js.PublishMsg(ctx, &nats.Msg{Subject: "$KV." + e.bucket + "." + id, Data: val},
		jetstream.WithExpectLastSequencePerSubject(rev), jetstream.WithMsgTTL(e.retention))
	var apiErr *jetstream.APIError
	if errors.As(err, &apiErr) && apiErr.ErrorCode == jetstream.JSErrCodeStreamWrongLastSequence {
		return 0, fmt.Errorf("%w: %w", err, jetstream.ErrKeyExists)
	}
	if err != nil {
		return 0, err
	}
	return ack.Sequence, nil
}

// endedRaw says, without decoding it, whether a stored instance ended
// with an empty outbox: nothing the background part has to do. The
// status is the third field (after id and definition, which are escaped
// strings), so its first occurrence is the instance's; an outbox key
// anywhere (even in the data) counts as an outbox, which only costs a
// decode.
func endedRaw(raw []byte) bool {
	const key = `"status":"`
	i := bytes.Index(raw, []byte(key))
	if i < 0 {
		return false
	}
	rest := raw[i+len(key):]
	j := bytes.IndexByte(rest, '"')
	if j < 0 {
		return false
	}
	return Status(rest[:j]).Terminal() && !bytes.Contains(raw, []byte(`"outbox":`))
}

func isConflict(err error) bool {
	return errors.Is(err, jetstream.ErrKeyExists) || errors.Is(err, jetstream.ErrKeyRevisionMismatch)
}
