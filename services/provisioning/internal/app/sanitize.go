package app

import (
	"context"
	"errors"
	"fmt"

	"github.com/pave-platform/pave/pkg/events"
	"github.com/pave-platform/pave/services/provisioning/internal/domain"
)

// Sanitize deletes the data a resource holds and keeps the resource.
// Teardown runs it before deprovision; an unknown or deleted resource is
// already clean.
type Sanitize struct{ Deps }

// NewSanitize returns the handler.
func NewSanitize(d Deps) *Sanitize { return &Sanitize{d} }

// Handle applies one sanitize command and publishes its one result.
func (h *Sanitize) Handle(ctx context.Context, commandID string, c events.SanitizeCommand) error {
	a := answer{commandID: commandID, saga: c.Saga, environmentID: c.EnvironmentID, resourceID: c.ResourceID}
	abandoned, err := h.sanitize(ctx, c)
	if err != nil {
		return h.settle(ctx, a, events.ActionSanitize, err)
	}
	return h.publish(ctx, a, events.TypeResourceSanitized, events.ResourceSanitized{
		Saga: c.Saga, EnvironmentID: c.EnvironmentID, ResourceID: c.ResourceID, Abandoned: abandoned,
	})
}

// sanitize empties the resource; abandoned is set instead when its server
// was declared gone (the deprovision that follows abandons it too).
func (h *Sanitize) sanitize(ctx context.Context, c events.SanitizeCommand) (abandoned string, err error) {
	if err := domain.ValidateID(c.ResourceID); err != nil {
		return "", err
	}
	rec, err := h.Ledger.Get(ctx, c.ResourceID)
	switch {
	case errors.Is(err, ErrNotFound):
		return "", nil
	case err != nil:
		return "", fmt.Errorf("read ledger for %s: %w", c.ResourceID, err)
	case !rec.State.Live():
		return rec.Abandoned, nil
	case rec.EnvironmentID != c.EnvironmentID || rec.Driver != c.Driver:
		return "", domain.Refused("resource %s belongs to environment %s with driver %s", c.ResourceID, rec.EnvironmentID, rec.Driver)
	}
	if g, gone, err := h.declaredGone(ctx, rec.Driver); err != nil || gone {
		return g.Note(), err
	}
	d, err := h.Drivers.Get(rec.Driver)
	if err != nil {
		return "", err
	}
	return "", h.teardownStep(ctx, c.EnvironmentID, c.ResourceID, rec.Driver, "sanitize", func() (*bool, error) {
		if err := d.Sanitize(ctx, c.ResourceID); err != nil {
			return nil, fmt.Errorf("sanitize %s with driver %s: %w", c.ResourceID, rec.Driver, err)
		}
		return nil, nil
	})
}
