package adapters

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/cloudevents/sdk-go/v2/event"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/pave-platform/pave/pkg/bus"
	"github.com/pave-platform/pave/services/scheduler/internal/app"
)

// LogStream is the scheduler's log: only the leader appends to it, and
// replaying it rebuilds the scheduler's state.
const LogStream = "EVT_SCHEDULER"

// ErrFenced means another instance appended to the log since this one last
// read it: this instance is no longer the leader and must rebuild.
var ErrFenced = app.ErrFenced

// ErrLogFull means the log's stream refuses appends: it reached its
// limits (discard new) or the server is out of storage. Leading is
// pointless until an operator makes room; the caller stands down.
var ErrLogFull = app.ErrLogFull

// full says whether a publish error is the stream refusing for room.
func full(err error) bool {
	var apiErr *jetstream.APIError
	if !errors.As(err, &apiErr) {
		return false
	}
	switch apiErr.ErrorCode {
	case 10023: // insufficient resources
		return true
	case 10077: // store failed: maximum messages / bytes exceeded
		return strings.Contains(apiErr.Description, "maximum")
	}
	return false
}

// fenced are the errors of a publish whose expectation failed: the wrong
// last sequence (10071; 10164 on replicated streams) or the wrong last
// message id (10070).
var fenced = map[jetstream.ErrorCode]bool{
	jetstream.JSErrCodeStreamWrongLastSequence:         true,
	jetstream.JSErrCodeStreamWrongLastSequenceConstant: true,
	10070: true,
}

// Log appends events to LogStream, each publish fenced by the sequence the
// appender expects to be last, so a deposed leader can never append.
type Log struct {
	js   jetstream.JetStream
	last uint64
}

// NewLog returns a log whose appends expect last to be the stream's last
// sequence (what Replay returned).
func NewLog(js jetstream.JetStream, last uint64) *Log {
	return &Log{js: js, last: last}
}

// Last is the sequence of the last event this log knows.
func (l *Log) Last() uint64 { return l.last }

// Append publishes the events in order, pipelined, each fenced on what
// must be last in the stream before it. On ErrFenced, or any error, the log may hold a
// prefix of the batch: the caller must stop and rebuild from the log.
func (l *Log) Append(ctx context.Context, msgs []*nats.Msg) error {
	const window = 512
	id := func(i int) string { return msgs[i].Header.Get(nats.MsgIdHdr) }
	for start := 0; start < len(msgs); start += window {
		if err := l.appendWindow(ctx, msgs, start, min(start+window, len(msgs)), id); err != nil {
			return err
		}
	}
	return nil
}

// AppendAckTimeout bounds the wait for one window's acks. The ack of a
// publish in flight when a NATS node dies may never come; a leader waiting
// for it would hold its lease and answer nothing. Failing the append
// stops the leader, and the next one rebuilds from the log, which holds
// the message if it landed.
const AppendAckTimeout = 10 * time.Second

func (l *Log) appendWindow(ctx context.Context, msgs []*nats.Msg, start, end int, id func(int) string) error {
	ctx, cancel := context.WithTimeout(ctx, AppendAckTimeout)
	defer cancel()
	futures := make([]jetstream.PubAckFuture, 0, end-start)
	for i, msg := range msgs[start:end] {
		// The first message expects the sequence this log last saw;
		// each next one expects the id of the one before it. (Expecting
		// last+i would let a deposed leader's later messages land once
		// the new leader's appends have moved the sequence that far.)
		fence := jetstream.WithExpectLastSequence(l.last)
		if i > 0 {
			fence = jetstream.WithExpectLastMsgID(id(start + i - 1))
		}
		f, err := l.js.PublishMsgAsync(msg, fence)
		if err != nil {
			return fmt.Errorf("scheduler log: append %s: %w", id(start+i), err)
		}
		futures = append(futures, f)
	}
	for i, f := range futures {
		select {
		case ack := <-f.Ok():
			if ack.Sequence != l.last+1 {
				return fmt.Errorf("scheduler log: %s stored at %d, expected %d: %w", id(start+i), ack.Sequence, l.last+1, ErrFenced)
			}
			l.last = ack.Sequence
		case err := <-f.Err():
			var apiErr *jetstream.APIError
			if errors.As(err, &apiErr) && fenced[apiErr.ErrorCode] {
				return fmt.Errorf("%w: %v", ErrFenced, err)
			}
			if full(err) {
				return fmt.Errorf("%w: append %s: %v", ErrLogFull, id(start+i), err)
			}
			return fmt.Errorf("scheduler log: append %s: %w", id(start+i), err)
		case <-ctx.Done():
			return fmt.Errorf("scheduler log: append %s: no ack: %w", id(start+i), ctx.Err())
		}
	}
	return nil
}

// ErrSnapshotAhead means a snapshot claims a sequence the log does not
// have (the stream was recreated): the snapshot must be dropped and the
// log replayed from its start.
var ErrSnapshotAhead = app.ErrSnapshotAhead

// Replay reads the log after sequence from (0: the whole log) in order
// and hands each event to apply. It returns the last sequence read and how
// many events it read.
func Replay(ctx context.Context, js jetstream.JetStream, from uint64, apply func(seq uint64, e event.Event) error) (uint64, int64, error) {
	s, err := js.Stream(ctx, LogStream)
	if err != nil {
		return 0, 0, fmt.Errorf("scheduler log: %w", err)
	}
	info, err := s.Info(ctx)
	if err != nil {
		return 0, 0, fmt.Errorf("scheduler log: %w", err)
	}
	last := info.State.LastSeq
	if from > last {
		return 0, 0, fmt.Errorf("%w: snapshot at %d, log ends at %d", ErrSnapshotAhead, from, last)
	}
	if info.State.Msgs == 0 || from == last {
		return last, 0, nil
	}
	cfg := jetstream.OrderedConsumerConfig{}
	if from > 0 {
		cfg.DeliverPolicy, cfg.OptStartSeq = jetstream.DeliverByStartSequencePolicy, from+1
	}
	var n int64
	err = bus.Scan(ctx, js, LogStream, cfg, func(m jetstream.Msg) (bool, error) {
		meta, err := m.Metadata()
		if err != nil {
			return false, err
		}
		e, err := bus.Decode(m.Headers(), m.Data())
		if err != nil {
			return false, fmt.Errorf("scheduler log: event %d: %w", meta.Sequence.Stream, err)
		}
		if err := apply(meta.Sequence.Stream, e); err != nil {
			return false, fmt.Errorf("scheduler log: event %d (%s): %w", meta.Sequence.Stream, e.Type(), err)
		}
		n++
		return meta.Sequence.Stream < last, nil
	})
	if err != nil {
		return 0, 0, fmt.Errorf("scheduler log: replay: %w", err)
	}
	return last, n, nil
}

// JetStreamLog is the scheduler's log on LogStream.
type JetStreamLog struct {
	js jetstream.JetStream
}

var (
	_ app.EventLog = (*JetStreamLog)(nil)
	_ app.Appender = (*Log)(nil)
)

// NewJetStreamLog reads and appends LogStream through js.
func NewJetStreamLog(js jetstream.JetStream) *JetStreamLog { return &JetStreamLog{js: js} }

// Replay reads the log after from; see [Replay].
func (l *JetStreamLog) Replay(ctx context.Context, from uint64, apply func(seq uint64, e event.Event) error) (uint64, int64, error) {
	return Replay(ctx, l.js, from, apply)
}

// Appender appends after last.
func (l *JetStreamLog) Appender(last uint64) app.Appender { return NewLog(l.js, last) }
