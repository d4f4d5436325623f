package bus

import (
	"context"
	"encoding/json"
	"fmt"
	"strconv"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/pave-platform/pave/pkg/events"
)

// Headers a dead letter carries beside the original ones.
const (
	HeaderDLQReason     = "Pave-Dlq-Reason"
	HeaderDLQStream     = "Pave-Dlq-Stream"
	HeaderDLQConsumer   = "Pave-Dlq-Consumer"
	HeaderDLQSubject    = "Pave-Dlq-Subject"
	HeaderDLQSequence   = "Pave-Dlq-Sequence"
	HeaderDLQDeliveries = "Pave-Dlq-Deliveries"
)

// copyToDLQ stores the message in DLQ with the reason and publishes a
// dead-letter notice. Both carry ids derived from stream, consumer and
// sequence, so the handler path and the max-deliveries advisory path
// never store a message twice.
func (b *Bus) copyToDLQ(ctx context.Context, orig nats.Header, data []byte, info MessageInfo, reason string) error {
	h := nats.Header{}
	for k, vs := range orig {
		if k == headerMsgID {
			continue
		}
		h[k] = append([]string(nil), vs...)
	}
	id := fmt.Sprintf("dlq/%s/%s/%d", info.Stream, info.Consumer, info.Sequence)
	h.Set(headerMsgID, id)
	h.Set(HeaderDLQReason, reason)
	h.Set(HeaderDLQStream, info.Stream)
	h.Set(HeaderDLQConsumer, info.Consumer)
	h.Set(HeaderDLQSubject, info.Subject)
	h.Set(HeaderDLQSequence, strconv.FormatUint(info.Sequence, 10))
	h.Set(HeaderDLQDeliveries, strconv.FormatUint(info.Deliveries, 10))
	msg := &nats.Msg{Subject: SubjectDLQPrefix + info.Stream + "." + info.Consumer, Header: h, Data: data}
	if err := b.publishMsg(ctx, msg); err != nil {
		return fmt.Errorf("store dead letter %s: %w", id, err)
	}
	b.countDeadLetter(ctx, info)
	b.log.Warn("message dead-lettered", "stream", info.Stream, "consumer", info.Consumer,
		"subject", info.Subject, "seq", info.Sequence, "reason", reason)
	// The notice is for alerting; the dead letter itself is already safe.
	nctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	if err := b.noticeDeadLetter(nctx, id, orig, data, info, reason); err != nil {
		b.log.Error("dead-letter notice not published", "id", id, "error", err)
	}
	return nil
}

func (b *Bus) noticeDeadLetter(ctx context.Context, id string, orig nats.Header, data []byte, info MessageInfo, reason string) error {
	evID, evType := eventOf(orig, data)
	notice := events.MessageDeadLettered{
		Stream: info.Stream, Consumer: info.Consumer, Subject: info.Subject,
		StreamSequence: info.Sequence, Deliveries: max(info.Deliveries, 1),
		Reason: reason, EventID: evID, EventType: evType, DeadLetteredAt: time.Now().UTC(),
	}
	e, err := NewEvent(id, "pave/bus", events.TypeMessageDeadLettered, notice)
	if err != nil {
		return err
	}
	if err := b.Publish(ctx, e); err != nil {
		return fmt.Errorf("notice dead letter %s: %w", id, err)
	}
	return nil
}

// maxDeliveriesAdvisory is the part of JetStream's advisory we read.
type maxDeliveriesAdvisory struct {
	Stream     string `json:"stream"`
	Consumer   string `json:"consumer"`
	StreamSeq  uint64 `json:"stream_seq"`
	Deliveries uint64 `json:"deliveries"`
}

// watchMaxDeliveries dead-letters messages whose last delivery never came
// back (the worker crashed or hung past AckWait on every attempt), which
// the handler path cannot see.
func (b *Bus) watchMaxDeliveries(s *Subscription) (*nats.Subscription, error) {
	subj := fmt.Sprintf("$JS.EVENT.ADVISORY.CONSUMER.MAX_DELIVERIES.%s.%s", s.spec.Stream, s.spec.Durable)
	sub, err := b.nc.Subscribe(subj, func(m *nats.Msg) {
		var adv maxDeliveriesAdvisory
		if err := json.Unmarshal(m.Data, &adv); err != nil {
			b.log.Error("unreadable max-deliveries advisory", "error", err)
			return
		}
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		b.deadLetterBySeq(ctx, adv)
	})
	if err != nil {
		return nil, fmt.Errorf("watch max deliveries of %s/%s: %w", s.spec.Stream, s.spec.Durable, err)
	}
	return sub, nil
}

func (b *Bus) deadLetterBySeq(ctx context.Context, adv maxDeliveriesAdvisory) {
	stream, err := b.js.Stream(ctx, adv.Stream)
	if err != nil {
		b.log.Error("max deliveries: stream lookup", "stream", adv.Stream, "error", err)
		return
	}
	raw, err := stream.GetMsg(ctx, adv.StreamSeq)
	if err != nil {
		b.log.Error("max deliveries: message lookup", "stream", adv.Stream, "seq", adv.StreamSeq, "error", err)
		return
	}
	info := MessageInfo{Stream: adv.Stream, Consumer: adv.Consumer, Subject: raw.Subject,
		Sequence: adv.StreamSeq, Deliveries: adv.Deliveries}
	reason := fmt.Sprintf("gave up after %d deliveries: no acknowledgement within the ack wait", adv.Deliveries)
	if err := b.copyToDLQ(ctx, raw.Header, raw.Data, info, reason); err != nil {
		b.log.Error("max deliveries: dead-letter copy failed", "seq", adv.StreamSeq, "error", err)
		return
	}
	if stream.CachedInfo().Config.Retention == jetstream.WorkQueuePolicy {
		// A work queue keeps an unacknowledged message forever; it is safe in DLQ now.
		_ = stream.DeleteMsg(ctx, adv.StreamSeq)
	}
}
