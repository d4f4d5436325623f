package bus

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/cloudevents/sdk-go/v2/event"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// Publish validates e, publishes it on the subject its type maps to and
// waits for the stream's acknowledgement. A re-published id within the
// stream's duplicate window is acknowledged without a second copy.
func (b *Bus) Publish(ctx context.Context, e event.Event) error {
	subject, err := b.subjectFor(e.Type())
	if err != nil {
		return Permanent(fmt.Errorf("publish %s: %w", e.Type(), err))
	}
	return b.PublishOn(ctx, subject, e)
}

// PublishOn is Publish on an explicit subject (ingress, tests).
func (b *Bus) PublishOn(ctx context.Context, subject string, e event.Event) error {
	msg, err := b.messageOn(ctx, subject, e)
	if err != nil {
		return err
	}
	if err := b.publishMsg(ctx, msg); err != nil {
		return fmt.Errorf("publish %s on %s: %w", e.ID(), subject, err)
	}
	return nil
}

// Message validates e and encodes it for the subject its type maps to,
// with the trace of ctx, without publishing it: for a publisher that needs
// its own publish options, such as a log fenced by expected sequence.
func (b *Bus) Message(ctx context.Context, e event.Event) (*nats.Msg, error) {
	subject, err := b.subjectFor(e.Type())
	if err != nil {
		return nil, Permanent(fmt.Errorf("publish %s: %w", e.Type(), err))
	}
	return b.messageOn(ctx, subject, e)
}

func (b *Bus) messageOn(ctx context.Context, subject string, e event.Event) (*nats.Msg, error) {
	if e.DataContentType() == "" {
		e.SetDataContentType(contentTypeJSON)
	}
	injectTrace(ctx, b.prop, &e)
	if err := e.Validate(); err != nil {
		return nil, Permanent(fmt.Errorf("publish %s: cloudevent: %w", e.ID(), err))
	}
	if err := b.validator.Validate(e.Type(), e.Data()); err != nil {
		return nil, Permanent(fmt.Errorf("publish %s: %w", e.ID(), err))
	}
	return Encode(subject, e), nil
}

// DefaultPublishTimeout bounds a publish whose context has no deadline.
const DefaultPublishTimeout = 30 * time.Second

// publishMsg retries an unacknowledged publish until ctx ends: the same
// Nats-Msg-Id makes a retry of a publish that did land a no-op.
func (b *Bus) publishMsg(ctx context.Context, msg *nats.Msg) error {
	if _, ok := ctx.Deadline(); !ok {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, DefaultPublishTimeout)
		defer cancel()
	}
	wait := 20 * time.Millisecond
	for {
		actx, cancel := context.WithTimeout(ctx, b.attemptTimeout)
		_, err := b.js.PublishMsg(actx, msg)
		cancel()
		if err == nil || !retryable(err) {
			return err
		}
		select {
		case <-ctx.Done():
			return errors.Join(err, ctx.Err())
		case <-time.After(wait):
		}
		wait = min(wait*2, time.Second)
	}
}

func retryable(err error) bool {
	return errors.Is(err, nats.ErrNoResponders) ||
		errors.Is(err, jetstream.ErrNoStreamResponse) ||
		errors.Is(err, nats.ErrTimeout) ||
		errors.Is(err, context.DeadlineExceeded) ||
		errors.Is(err, nats.ErrConnectionReconnecting) ||
		errors.Is(err, nats.ErrDisconnected)
}
