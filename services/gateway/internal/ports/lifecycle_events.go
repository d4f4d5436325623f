package ports

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/nats-io/nats.go/jetstream"
)

// The lifecycle service's events the gateway follows: they are its
// public output, so reading them is not reading its state.
const (
	lifecycleStream     = "EVT_LIFECYCLE"
	subjectTransitioned = "pave.evt.lifecycle.environment.transitioned"
	subjectProgressed   = "pave.evt.lifecycle.saga.progressed"
)

// scanEvents calls each, in stream order, for every stored event that
// cfg selects, up to the last one stored when the scan started; each
// returns false to stop early.
func scanEvents(ctx context.Context, js jetstream.JetStream, cfg jetstream.OrderedConsumerConfig, each func(jetstream.Msg) bool) error {
	cons, err := js.OrderedConsumer(ctx, lifecycleStream, cfg)
	if err != nil {
		return fmt.Errorf("read %s: %w", lifecycleStream, err)
	}
	info, err := cons.Info(ctx)
	if err != nil {
		return fmt.Errorf("read %s: %w", lifecycleStream, err)
	}
	pending := info.NumPending
	for pending > 0 {
		batch, err := cons.Fetch(int(min(pending, 1000)), jetstream.FetchMaxWait(2*time.Second))
		if err != nil {
			return fmt.Errorf("read %s: %w", lifecycleStream, err)
		}
		n := 0
		for m := range batch.Messages() {
			n++
			md, err := m.Metadata()
			if err != nil {
				return fmt.Errorf("read %s: %w", lifecycleStream, err)
			}
			pending = md.NumPending
			if !each(m) {
				return nil
			}
		}
		if err := batch.Error(); err != nil && !errors.Is(err, jetstream.ErrNoMessages) {
			return fmt.Errorf("read %s: %w", lifecycleStream, err)
		}
		if n == 0 {
			return nil
		}
	}
	return nil
}
