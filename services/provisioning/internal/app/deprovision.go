package app

import (
	"context"
	"errors"
	"fmt"

	"github.com/pave-platform/pave/pkg/events"
	"github.com/pave-platform/pave/services/provisioning/internal/domain"
)

// Deprovision deletes a resource and tombstones its id. An id the ledger
// has never seen gets a tombstone too, and the answer existed=false (null
// compensation); the tombstone makes a late provision create nothing.
type Deprovision struct{ Deps }

// NewDeprovision returns the handler.
func NewDeprovision(d Deps) *Deprovision { return &Deprovision{d} }

// Handle applies one deprovision command and publishes its one result.
func (h *Deprovision) Handle(ctx context.Context, commandID string, c events.DeprovisionCommand) error {
	a := answer{commandID: commandID, saga: c.Saga, environmentID: c.EnvironmentID, resourceID: c.ResourceID}
	existed, abandoned, err := h.deprovision(ctx, commandID, c)
	if err != nil {
		return h.settle(ctx, a, events.ActionDeprovision, err)
	}
	return h.publish(ctx, a, events.TypeResourceDeprovisioned, events.ResourceDeprovisioned{
		Saga: c.Saga, EnvironmentID: c.EnvironmentID, ResourceID: c.ResourceID, Existed: existed, Abandoned: abandoned,
	})
}

// deprovision deletes the resource; abandoned is set instead when its
// server was declared gone and nothing could be deleted.
func (h *Deprovision) deprovision(ctx context.Context, commandID string, c events.DeprovisionCommand) (existed bool, abandoned string, err error) {
	if err := domain.ValidateID(c.ResourceID); err != nil {
		return false, "", err
	}
	rec, err := h.Ledger.Get(ctx, c.ResourceID)
	switch {
	case errors.Is(err, ErrNotFound):
		return false, "", h.tombstoneUnknown(ctx, commandID, c)
	case err != nil:
		return false, "", fmt.Errorf("read ledger for %s: %w", c.ResourceID, err)
	case !rec.State.Live():
		// Already deleted: the command that deleted it keeps its answer.
		return rec.DeletedBy == commandID && rec.Existed, rec.Abandoned, nil
	case rec.EnvironmentID != c.EnvironmentID:
		return false, "", domain.Refused("resource %s belongs to environment %s", c.ResourceID, rec.EnvironmentID)
	}
	if g, gone, err := h.declaredGone(ctx, rec.Driver); err != nil {
		return false, "", err
	} else if gone {
		if _, err := h.Ledger.Update(ctx, rec.Abandon(commandID, g.Note(), h.now())); err != nil {
			return false, "", fmt.Errorf("record abandoned %s: %w", c.ResourceID, err)
		}
		return false, g.Note(), nil
	}
	d, err := h.Drivers.Get(rec.Driver)
	if err != nil {
		return false, "", err
	}
	if rec.State != domain.StateDeprovisioning {
		if rec, err = h.Ledger.Update(ctx, rec.Deprovisioning(h.now())); err != nil {
			return false, "", fmt.Errorf("record deprovisioning of %s: %w", c.ResourceID, err)
		}
	}
	err = h.teardownStep(ctx, c.EnvironmentID, c.ResourceID, rec.Driver, "deprovision", func() (*bool, error) {
		var err error
		if existed, err = d.Deprovision(ctx, c.ResourceID); err != nil {
			return nil, fmt.Errorf("deprovision %s with driver %s: %w", c.ResourceID, rec.Driver, err)
		}
		return &existed, nil
	})
	if err != nil {
		return false, "", err
	}
	if _, err := h.Ledger.Update(ctx, rec.Tombstone(commandID, existed, h.now())); err != nil {
		return false, "", fmt.Errorf("record deprovisioned %s: %w", c.ResourceID, err)
	}
	return existed, "", nil
}

// tombstoneUnknown records that the id is gone before it was ever made.
func (h *Deprovision) tombstoneUnknown(ctx context.Context, commandID string, c events.DeprovisionCommand) error {
	_, err := h.Ledger.Create(ctx, domain.NewTombstone(c.ResourceID, c.EnvironmentID, c.Driver, commandID, h.now()))
	if err != nil {
		// On a conflict a provision got in first; the retry deletes it.
		return fmt.Errorf("record tombstone of unknown %s: %w", c.ResourceID, err)
	}
	return nil
}
