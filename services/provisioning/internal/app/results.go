package app

import (
	"context"
	"errors"
	"fmt"

	"github.com/pave-platform/pave/pkg/bus"
	"github.com/pave-platform/pave/pkg/events"
	"github.com/pave-platform/pave/services/provisioning/internal/domain"
)

// Source is the CloudEvents source of everything provisioning publishes.
const Source = "pave/provisioning"

// ResultID is the id of the one result a command gets. It is derived from
// the command's id, so a redelivered command's result is deduplicated by
// the stream instead of stored twice.
func ResultID(commandID string) string { return commandID + "/result" }

// answer is what every result echoes from its command.
type answer struct {
	commandID     string
	saga          events.Saga
	environmentID string
	resourceID    string
}

// publish sends the command's result.
func (d Deps) publish(ctx context.Context, a answer, eventType string, data any) error {
	e, err := bus.NewEvent(ResultID(a.commandID), Source, eventType, data)
	if err != nil {
		return err
	}
	e.SetSubject(a.resourceID)
	if err := d.Publisher.Publish(ctx, e); err != nil {
		return fmt.Errorf("answer %s for %s: %w", eventType, a.resourceID, err)
	}
	return nil
}

// ready answers provisioned or updated from the ledger record, so every
// answer for the same record is the same.
func (d Deps) ready(ctx context.Context, a answer, eventType string, rec domain.Record) error {
	data := events.ResourceProvisioned{
		Saga: a.saga, EnvironmentID: a.environmentID, ResourceID: rec.ResourceID, Driver: rec.Driver,
		ExternalIDs: nonNil(rec.ExternalIDs), Outputs: domain.PublicOutputs(rec.Outputs, nil),
		HasCredentials: len(rec.SealedCredentials) > 0,
	}
	if eventType == events.TypeResourceUpdated {
		return d.publish(ctx, a, eventType, events.ResourceUpdated(data))
	}
	return d.publish(ctx, a, eventType, data)
}

// settle decides what a handler's error becomes. A transient error before
// the last delivery goes back to the bus, which redelivers with backoff.
// A permanent error, or any error on the last delivery, is answered with
// a failed event so that the saga hears of it, and the command is done.
func (d Deps) settle(ctx context.Context, a answer, action string, err error) error {
	if err == nil {
		return nil
	}
	permanent := domain.IsPermanent(err)
	if !permanent && !d.lastDelivery(ctx) {
		return err
	}
	d.log().WarnContext(ctx, "command failed", "action", action, "resource", a.resourceID,
		"environment", a.environmentID, "permanent", permanent, "error", err)
	return d.publish(ctx, a, events.TypeResourceFailed, events.ResourceFailed{
		Saga: a.saga, EnvironmentID: a.environmentID, ResourceID: a.resourceID,
		Action: action, Reason: reason(err), Retryable: !permanent,
	})
}

func (d Deps) lastDelivery(ctx context.Context) bool {
	mi, ok := bus.Info(ctx)
	return ok && d.MaxDeliver > 0 && mi.Deliveries >= uint64(d.MaxDeliver)
}

// reason is the error text a person reads in the failed event. A
// missing driver is named exactly, whatever wrapped it.
func reason(err error) string {
	msg := err.Error()
	var nc *domain.NotConfiguredError
	if errors.As(err, &nc) {
		msg = nc.Error()
	}
	const limit = 1024
	if len(msg) > limit {
		msg = msg[:limit]
	}
	return msg
}

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}
