package notify

import (
	"context"
	"errors"
	"fmt"

	"github.com/cloudevents/sdk-go/v2/event"
	"golang.org/x/sync/errgroup"

	"github.com/pave-platform/pave/pkg/bus"
)

// maxRecover bounds the events the fan-out re-handles on start.
const maxRecover = 8192

// Recover numbers and stores, in stream order and before the consumer
// runs, the events of stream that a fan-out which died had taken and not
// acknowledged (bus.Unacknowledged). Left to the consumer, they come back
// after their ack wait and are numbered behind newer events of their
// subject: delivered out of order. A subject with more of them than a
// chain remembers is left to the consumer (one may have been numbered
// long before and would get a second number), and so is a range longer
// than maxRecover: order may then break across the crash, nothing is
// lost.
func (f *Fanout) Recover(ctx context.Context, b *bus.Bus, stream string) error {
	es, err := b.Unacknowledged(ctx, stream, FanoutSpec(stream).Durable, maxRecover)
	if errors.Is(err, bus.ErrPendingTooMany) {
		f.log.WarnContext(ctx, "fan-out not recovered in order", "stream", stream, "error", err)
		return nil
	}
	if err != nil {
		return err
	}
	bySubject := map[string][]event.Event{}
	var order []string
	for _, e := range es {
		if _, ok := bySubject[e.Subject()]; !ok {
			order = append(order, e.Subject())
		}
		bySubject[e.Subject()] = append(bySubject[e.Subject()], e)
	}
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(fanoutLanes)
	for _, subject := range order {
		lane := bySubject[subject]
		if len(lane) > maxRecent {
			continue
		}
		g.Go(func() error {
			for _, e := range lane {
				if err := f.Handle(gctx, e); err != nil {
					return fmt.Errorf("recover fan-out of %s: %w", e.ID(), err)
				}
			}
			return nil
		})
	}
	return g.Wait()
}
