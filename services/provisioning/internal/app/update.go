package app

import (
	"context"
	"errors"
	"fmt"

	"github.com/pave-platform/pave/pkg/events"
	"github.com/pave-platform/pave/services/provisioning/internal/domain"
)

// Update applies a changed class or parameters to a ready resource, in
// place. The login stays unless the driver issues a new one.
type Update struct{ Deps }

// NewUpdate returns the handler.
func NewUpdate(d Deps) *Update { return &Update{d} }

// Handle applies one update command and publishes its one result.
func (h *Update) Handle(ctx context.Context, commandID string, c events.UpdateCommand) error {
	r := resourceOf(c.EnvironmentID, c.Team, c.Resource)
	a := answer{commandID: commandID, saga: c.Saga, environmentID: c.EnvironmentID, resourceID: r.ID}
	rec, err := h.update(ctx, r)
	if err != nil {
		return h.settle(ctx, a, events.ActionUpdate, err)
	}
	return h.ready(ctx, a, events.TypeResourceUpdated, rec)
}

func (h *Update) update(ctx context.Context, r domain.Resource) (domain.Record, error) {
	if err := r.Validate(); err != nil {
		return domain.Record{}, err
	}
	rec, err := h.Ledger.Get(ctx, r.ID)
	switch {
	case errors.Is(err, ErrNotFound):
		return domain.Record{}, domain.Refused("resource %s is not provisioned", r.ID)
	case err != nil:
		return domain.Record{}, fmt.Errorf("read ledger for %s: %w", r.ID, err)
	case rec.EnvironmentID != r.EnvironmentID || rec.Driver != r.Driver:
		return domain.Record{}, domain.Refused("resource %s belongs to environment %s with driver %s", r.ID, rec.EnvironmentID, rec.Driver)
	case rec.State == domain.StateProvisioning:
		// The provision may still finish; the bus retries.
		return domain.Record{}, fmt.Errorf("resource %s is still being provisioned", r.ID)
	case rec.State != domain.StateReady:
		return domain.Record{}, domain.Refused("resource %s is %s", r.ID, rec.State)
	}
	d, err := h.Drivers.Get(r.Driver)
	if err != nil {
		return domain.Record{}, err
	}
	res, err := d.Update(ctx, r)
	if err != nil {
		return domain.Record{}, fmt.Errorf("update %s with driver %s: %w", r.ID, r.Driver, err)
	}
	sealed, err := sealCredentials(h.Sealer, r.ID, res.Credentials)
	if err != nil {
		return domain.Record{}, err
	}
	rec, err = h.Ledger.Update(ctx, rec.Ready(res, sealed, r.Class, h.now()))
	if err != nil {
		// A conflict is retried: the update is applied again, which is harmless.
		return domain.Record{}, fmt.Errorf("record update of %s: %w", r.ID, err)
	}
	return rec, nil
}
