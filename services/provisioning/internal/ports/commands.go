// Package ports turns JetStream commands and NATS requests into the
// provisioning service's app calls, and runs the sweeper on an interval.
package ports

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/cloudevents/sdk-go/v2/event"

	"github.com/pave-platform/pave/pkg/bus"
	"github.com/pave-platform/pave/pkg/events"
	"github.com/pave-platform/pave/services/provisioning/internal/app"
	"github.com/pave-platform/pave/services/provisioning/internal/domain"
)

// Consumer of the provisioning commands.
const (
	CommandStream  = "CMD_PROVISIONING"
	CommandDurable = "provisioning"
	// MaxDeliver is the consumer's delivery limit; the app answers failed
	// on the last one.
	MaxDeliver = 5
)

// Commands are the handlers of the resource commands and of the
// credential commands of the environment sagas.
type Commands struct {
	Provision   *app.Provision
	Update      *app.Update
	Sanitize    *app.Sanitize
	Deprovision *app.Deprovision
	Credentials *app.Grants
}

// Spec is the durable consumer the commands are read with.
func Spec(ackWait time.Duration) bus.ConsumerSpec {
	return bus.ConsumerSpec{
		Stream: CommandStream, Durable: CommandDurable,
		MaxDeliver: MaxDeliver, AckWait: ackWait, Concurrency: 16,
		Backoff: bus.Backoff{Base: 250 * time.Millisecond, Max: 10 * time.Second},
	}
}

// Consumers registers the resource and credential commands and access's
// grant events.
func Consumers(r *bus.Router, c Commands, g *app.Grants, ackWait time.Duration) {
	r.Handle(Spec(ackWait), c.Handle)
	r.Handle(GrantSpec(ackWait), GrantEvents(g))
}

// Handle routes a command by type. A permanent app error is permanent for
// the bus too; anything else is redelivered.
func (c Commands) Handle(ctx context.Context, e event.Event) error {
	var err error
	switch e.Type() {
	case events.TypeProvisionCommand:
		err = handle(ctx, e, func(ctx context.Context, id string, cmd events.ProvisionCommand) error {
			return c.Provision.HandleIssued(ctx, id, e.Time(), cmd)
		})
	case events.TypeUpdateCommand:
		err = handle(ctx, e, c.Update.Handle)
	case events.TypeSanitizeCommand:
		err = handle(ctx, e, c.Sanitize.Handle)
	case events.TypeDeprovisionCommand:
		err = handle(ctx, e, c.Deprovision.Handle)
	case events.TypeCredentialsSyncCommand:
		err = handle(ctx, e, c.Credentials.Sync)
	case events.TypeCredentialsRevokeCommand:
		err = handle(ctx, e, c.Credentials.Revoke)
	default:
		return bus.Permanent(fmt.Errorf("provisioning does not handle %s", e.Type()))
	}
	if domain.IsPermanent(err) {
		return bus.Permanent(err)
	}
	return err
}

func handle[C any](ctx context.Context, e event.Event, h func(context.Context, string, C) error) error {
	var cmd C
	if err := json.Unmarshal(e.Data(), &cmd); err != nil {
		return bus.Permanent(fmt.Errorf("decode %s %s: %w", e.Type(), e.ID(), err))
	}
	return h(ctx, e.ID(), cmd)
}
