package bus

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/nats-io/nats.go/jetstream"
)

// scanInactive is how long the server keeps a scan's consumer that its
// reader left without deleting it.
const scanInactive = 30 * time.Second

// Scan hands each, in stream order, the stored messages of stream that cfg
// selects, up to the last one stored when the scan starts; each returns
// false to stop early, or an error to stop with it. It is the one way Pave
// reads history back (API reads of events, audit checks), as the Router is
// the one way it consumes: an ordered consumer, read in batches, that
// acknowledges nothing and leaves nothing behind. A stream that does not
// exist is an error that matches jetstream.ErrStreamNotFound.
func Scan(ctx context.Context, js jetstream.JetStream, stream string, cfg jetstream.OrderedConsumerConfig, each func(jetstream.Msg) (bool, error)) error {
	s, err := js.Stream(ctx, stream)
	if err != nil {
		return fmt.Errorf("read %s: %w", stream, err)
	}
	info, err := s.Info(ctx)
	if err != nil {
		return fmt.Errorf("read %s: %w", stream, err)
	}
	last := info.State.LastSeq
	if info.State.Msgs == 0 || cfg.OptStartSeq > last {
		return nil
	}
	if cfg.InactiveThreshold == 0 {
		cfg.InactiveThreshold = scanInactive // should the delete below not happen
	}
	c, err := s.OrderedConsumer(ctx, cfg)
	if err != nil {
		return fmt.Errorf("read %s: %w", stream, err)
	}
	defer func() {
		if info := c.CachedInfo(); info != nil {
			_ = s.DeleteConsumer(context.WithoutCancel(ctx), info.Name)
		}
	}()
	ci, err := c.Info(ctx)
	if err != nil {
		return fmt.Errorf("read %s: %w", stream, err)
	}
	for pending := ci.NumPending; pending > 0; {
		batch, err := c.Fetch(int(min(pending, 512)), jetstream.FetchMaxWait(2*time.Second))
		if err != nil {
			return fmt.Errorf("read %s: %w", stream, err)
		}
		got := 0
		for m := range batch.Messages() {
			got++
			md, err := m.Metadata()
			if err != nil {
				return fmt.Errorf("read %s: %w", stream, err)
			}
			more, err := each(m)
			if err != nil {
				return err
			}
			if !more || md.Sequence.Stream >= last {
				return nil
			}
			pending = md.NumPending
		}
		if err := batch.Error(); err != nil && !errors.Is(err, jetstream.ErrNoMessages) {
			return fmt.Errorf("read %s: %w", stream, err)
		}
		if got == 0 {
			return nil
		}
		if err := ctx.Err(); err != nil {
			return err
		}
	}
	return nil
}

// Follow hands each, in stream order, the messages of stream that cfg
// selects, those stored from cfg's start and those to come, until the
// returned context is stopped (Closed tells when the last each has
// returned): the live reader (the API's event feeds, the runner's stop
// notices), as Scan is the reader of history. each runs on the consumer's
// goroutine, one message at a time; it may block, and should return once
// its reader is gone.
func Follow(ctx context.Context, js jetstream.JetStream, stream string, cfg jetstream.OrderedConsumerConfig, each func(jetstream.Msg)) (jetstream.ConsumeContext, error) {
	if cfg.InactiveThreshold == 0 {
		cfg.InactiveThreshold = scanInactive
	}
	c, err := js.OrderedConsumer(ctx, stream, cfg)
	if err != nil {
		return nil, fmt.Errorf("follow %s: %w", stream, err)
	}
	cc, err := c.Consume(each)
	if err != nil {
		return nil, fmt.Errorf("follow %s: %w", stream, err)
	}
	return cc, nil
}
