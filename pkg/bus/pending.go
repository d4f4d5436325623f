package bus

import (
	"context"
	"errors"
	"fmt"

	"github.com/cloudevents/sdk-go/v2/event"
	"github.com/nats-io/nats.go/jetstream"
)

// ErrPendingTooMany says a consumer's unacknowledged range is longer than
// the caller can take.
var ErrPendingTooMany = errors.New("more unacknowledged messages than asked for")

// Unacknowledged reads, in stream order, the events the durable consumer
// has handed out past its ack floor: what an instance that died had
// taken and not finished. They come back only after their ack wait,
// behind newer ones, so a handler that orders by arrival (numbering
// events per subject) handles them first, on start, before the
// consumer runs. Some may have been acknowledged one by one already: the
// handler must be idempotent, as for any redelivery. Messages that do not
// decode or fail their schema are skipped (the consumer's ack policy
// deals with them). A consumer that does not exist has none; one with
// subject filters is refused (the range covers the whole stream), and
// so is a range longer than max (ErrPendingTooMany).
func (b *Bus) Unacknowledged(ctx context.Context, stream, durable string, max int) ([]event.Event, error) {
	cons, err := b.js.Consumer(ctx, stream, durable)
	if errors.Is(err, jetstream.ErrConsumerNotFound) || errors.Is(err, jetstream.ErrStreamNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("consumer %s/%s: %w", stream, durable, err)
	}
	info, err := cons.Info(ctx)
	if err != nil {
		return nil, fmt.Errorf("consumer %s/%s: %w", stream, durable, err)
	}
	if info.Config.FilterSubject != "" || len(info.Config.FilterSubjects) > 0 {
		return nil, fmt.Errorf("consumer %s/%s: unacknowledged range of a filtered consumer", stream, durable)
	}
	from, to := info.AckFloor.Stream+1, info.Delivered.Stream
	if to < from {
		return nil, nil
	}
	if to-from+1 > uint64(max) {
		return nil, fmt.Errorf("consumer %s/%s: %d past the ack floor: %w", stream, durable, to-from+1, ErrPendingTooMany)
	}
	st, err := b.js.Stream(ctx, stream)
	if err != nil {
		return nil, fmt.Errorf("stream %s: %w", stream, err)
	}
	var out []event.Event
	for seq := from; seq <= to; seq++ {
		m, err := st.GetMsg(ctx, seq)
		if errors.Is(err, jetstream.ErrMsgNotFound) {
			continue // removed by the stream's limits
		}
		if err != nil {
			return nil, fmt.Errorf("read %s/%d: %w", stream, seq, err)
		}
		e, err := Decode(m.Header, m.Data)
		if err != nil || b.validator.Validate(e.Type(), e.Data()) != nil {
			continue
		}
		out = append(out, e)
	}
	return out, nil
}
