package bus

import (
	"context"
	"fmt"
	"runtime/debug"
	"time"

	"github.com/nats-io/nats.go/jetstream"
)

// process runs one delivery through decode, validation and the handler,
// then settles it. This is the only place that acks.
func (s *Subscription) process(m jetstream.Msg) {
	md, err := m.Metadata()
	if err != nil {
		s.bus.log.Error("message without metadata", "subject", m.Subject(), "error", err)
		_ = m.Term()
		return
	}
	info := MessageInfo{
		Stream: s.spec.Stream, Consumer: s.spec.Durable, Subject: m.Subject(),
		Sequence: md.Sequence.Stream, Deliveries: md.NumDelivered,
	}
	ctx, cancel := context.WithTimeout(context.WithValue(context.Background(), infoKey{}, info), s.spec.AckWait)
	defer cancel()

	err = s.handle(ctx, m)
	switch {
	case err == nil:
		// A fresh deadline: the handler may have used up its own.
		actx, acancel := context.WithTimeout(context.Background(), 5*time.Second)
		aerr := m.DoubleAck(actx)
		acancel()
		if aerr != nil {
			// The effect is applied; a redelivery must be absorbed by the
			// handler's idempotency (claimed id or revision fence).
			s.bus.log.Warn("ack not confirmed", "subject", info.Subject, "seq", info.Sequence, "error", aerr)
		}
	case IsPermanent(err) || md.NumDelivered >= uint64(s.spec.MaxDeliver):
		reason := err.Error()
		if !IsPermanent(err) {
			reason = fmt.Sprintf("gave up after %d deliveries: %v", md.NumDelivered, err)
		}
		s.deadLetter(ctx, m, info, reason)
	default:
		_ = m.NakWithDelay(s.spec.Backoff.Delay(md.NumDelivered))
	}
}

// handle calls the handler, turning a panic into a transient error.
func (s *Subscription) handle(ctx context.Context, m jetstream.Msg) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("handler panic: %v\n%s", r, debug.Stack())
		}
	}()
	return s.handler(ctx, m)
}

// handleEvent decodes and validates the message and calls h with it.
func (b *Bus) handleEvent(ctx context.Context, m jetstream.Msg, h Handler) error {
	e, err := Decode(m.Headers(), m.Data())
	if err != nil {
		return err
	}
	if verr := b.validator.Validate(e.Type(), e.Data()); verr != nil {
		return Permanent(verr)
	}
	return h(ExtractTrace(ctx, b.prop, e), e)
}

// deadLetter copies the message to DLQ with its reason and terminates it.
// If the copy cannot be stored, the message is nak'd instead: nothing that
// was accepted is dropped.
func (s *Subscription) deadLetter(ctx context.Context, m jetstream.Msg, info MessageInfo, reason string) {
	if err := s.bus.copyToDLQ(ctx, m.Headers(), m.Data(), info, reason); err != nil {
		s.bus.log.Error("dead-letter copy failed; will retry", "subject", info.Subject, "seq", info.Sequence, "error", err)
		_ = m.NakWithDelay(s.spec.Backoff.Delay(info.Deliveries))
		return
	}
	if err := m.TermWithReason(truncate(reason, 256)); err != nil {
		s.bus.log.Warn("term not sent", "subject", info.Subject, "seq", info.Sequence, "error", err)
	}
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n]
}

// eventOf is the best-effort identity of a message for a dead-letter notice.
func eventOf(h map[string][]string, data []byte) (id, typ string) {
	e, err := Decode(h, data)
	if err != nil {
		return "", ""
	}
	return e.ID(), e.Type()
}
