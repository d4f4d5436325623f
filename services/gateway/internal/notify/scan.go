package notify

import (
	"context"
	"errors"
	"time"

	"github.com/cloudevents/sdk-go/v2/event"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/pave-platform/pave/pkg/bus"
)

// maxReplay bounds the events one replay re-sends.
const maxReplay = 10000

// scanFrom calls each for every event stored on stream at or after from,
// up to the last one stored when the scan started, in stream order. A
// stream that does not exist holds nothing.
func scanFrom(ctx context.Context, js jetstream.JetStream, stream string, from time.Time, each func(event.Event) error) error {
	err := bus.Scan(ctx, js, stream, jetstream.OrderedConsumerConfig{
		DeliverPolicy: jetstream.DeliverByStartTimePolicy, OptStartTime: &from}, func(m jetstream.Msg) (bool, error) {
		e, err := bus.Decode(m.Headers(), m.Data())
		if err != nil {
			return true, nil // not a CloudEvent: nothing to deliver
		}
		return true, each(e)
	})
	if errors.Is(err, jetstream.ErrStreamNotFound) {
		return nil
	}
	return err
}
