package ports

import (
	"context"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/pave-platform/pave/pkg/bus"
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
	return bus.Scan(ctx, js, lifecycleStream, cfg, func(m jetstream.Msg) (bool, error) { return each(m), nil })
}
