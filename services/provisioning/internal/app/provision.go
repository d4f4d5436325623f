package app

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/pave-platform/pave/pkg/events"
	"github.com/pave-platform/pave/services/provisioning/internal/domain"
)

// Provision creates a resource. It records the names of the objects it is
// about to create before it asks the driver, answers a repeat from the
// ledger, and refuses an id that was already deprovisioned (hanging).
type Provision struct{ Deps }

// NewProvision returns the handler.
func NewProvision(d Deps) *Provision { return &Provision{d} }

// Handle applies one provision command and publishes its one result.
func (h *Provision) Handle(ctx context.Context, commandID string, c events.ProvisionCommand) error {
	return h.HandleIssued(ctx, commandID, time.Time{}, c)
}

// HandleIssued is Handle for a command issued at issued (its event's
// time; zero when unknown). A command for an id the ledger does not hold
// that was issued longer ago than the tombstone retention is refused: the
// id's tombstone may have been removed since, and a provision after its
// deprovision must create nothing.
func (h *Provision) HandleIssued(ctx context.Context, commandID string, issued time.Time, c events.ProvisionCommand) error {
	r := resourceOf(c.EnvironmentID, c.Team, c.Resource)
	a := answer{commandID: commandID, saga: c.Saga, environmentID: c.EnvironmentID, resourceID: r.ID}
	rec, err := h.provision(ctx, commandID, issued, r)
	if err != nil {
		return h.settle(ctx, a, events.ActionProvision, h.release(ctx, commandID, r.ID, err))
	}
	return h.ready(ctx, a, events.TypeResourceProvisioned, rec)
}

func (h *Provision) provision(ctx context.Context, commandID string, issued time.Time, r domain.Resource) (domain.Record, error) {
	if err := r.Validate(); err != nil {
		return domain.Record{}, err
	}
	rec, err := h.Ledger.Get(ctx, r.ID)
	found := err == nil
	switch {
	case errors.Is(err, ErrNotFound) && h.outlivesTombstones(issued):
		return domain.Record{}, domain.Refused("resource %s: the command was issued at %s, longer ago than the tombstone retention, so a deprovision it lost to may be forgotten; it creates nothing",
			r.ID, issued.UTC().Format(time.RFC3339))
	case errors.Is(err, ErrNotFound):
	case err != nil:
		return domain.Record{}, fmt.Errorf("read ledger for %s: %w", r.ID, err)
	case !rec.State.Live():
		return domain.Record{}, domain.Refused("resource %s was deprovisioned; a provision after its deprovision creates nothing", r.ID)
	case rec.EnvironmentID != r.EnvironmentID || rec.Driver != r.Driver:
		return domain.Record{}, domain.Refused("resource %s belongs to environment %s with driver %s", r.ID, rec.EnvironmentID, rec.Driver)
	case rec.State == domain.StateReady:
		return rec, nil
	case rec.State == domain.StateDeprovisioning:
		return domain.Record{}, domain.Refused("resource %s is being deprovisioned", r.ID)
	case rec.HeldByOther(commandID, h.now(), h.lease()):
		return domain.Record{}, fmt.Errorf("resource %s is being provisioned by command %s", r.ID, rec.ClaimedBy)
	}
	d, err := h.Drivers.Get(r.Driver)
	if err != nil {
		return domain.Record{}, err
	}
	if rec, err = h.claim(ctx, commandID, r, d, rec, found); err != nil {
		return domain.Record{}, err
	}
	res, err := d.Provision(ctx, r)
	if err != nil {
		return domain.Record{}, fmt.Errorf("provision %s with driver %s: %w", r.ID, r.Driver, err)
	}
	return h.finish(ctx, d, rec, r, res)
}

// claim writes the planned external ids and this command's claim, fenced
// by revision, before anything real is created.
func (h *Provision) claim(ctx context.Context, commandID string, r domain.Resource, d Driver, rec domain.Record, found bool) (domain.Record, error) {
	now := h.now()
	var err error
	if found {
		rec, err = h.Ledger.Update(ctx, rec.Plan(d.Planned(r.ID)).Claim(commandID, now))
	} else {
		rec, err = h.Ledger.Create(ctx, domain.NewProvisioning(r, d.Planned(r.ID), now).Claim(commandID, now))
	}
	if err != nil {
		return domain.Record{}, fmt.Errorf("record planned objects of %s: %w", r.ID, err)
	}
	return rec, nil
}

// finish records what the driver made. If the resource was deprovisioned
// meanwhile, what was just made is deleted again.
func (h *Provision) finish(ctx context.Context, d Driver, rec domain.Record, r domain.Resource, res domain.Result) (domain.Record, error) {
	sealed, err := sealCredentials(h.Sealer, r.ID, res.Credentials)
	if err != nil {
		return domain.Record{}, err
	}
	done, err := h.Ledger.Update(ctx, rec.Ready(res, sealed, r.Class, h.now()))
	if err == nil {
		return done, nil
	}
	if !errors.Is(err, ErrConflict) {
		return domain.Record{}, fmt.Errorf("record provisioned %s: %w", r.ID, err)
	}
	latest, gerr := h.Ledger.Get(ctx, r.ID)
	if gerr != nil || latest.State != domain.StateDeleted && latest.State != domain.StateDeprovisioning {
		return domain.Record{}, fmt.Errorf("record provisioned %s: %w", r.ID, err)
	}
	if _, derr := d.Deprovision(ctx, r.ID); derr != nil {
		return domain.Record{}, fmt.Errorf("undo provision of %s deprovisioned meanwhile: %w", r.ID, derr)
	}
	return domain.Record{}, domain.Refused("resource %s was deprovisioned while it was being provisioned; what was made is deleted", r.ID)
}

// release gives up this command's claim when it will not be retried, so
// that another attempt need not wait for the lease.
func (h *Provision) release(ctx context.Context, commandID, id string, cause error) error {
	if !domain.IsPermanent(cause) && !h.lastDelivery(ctx) {
		return cause
	}
	rec, err := h.Ledger.Get(ctx, id)
	if err == nil && rec.State == domain.StateProvisioning && rec.ClaimedBy == commandID {
		_, _ = h.Ledger.Update(ctx, rec.Release(h.now())) // a stale claim also ends with its lease
	}
	return cause
}

func resourceOf(environmentID, team string, s events.ResourceSpec) domain.Resource {
	return domain.Resource{
		ID: s.ID, EnvironmentID: environmentID, Team: team, Name: s.Name,
		Driver: s.Driver, Class: s.Class, Parameters: s.Parameters,
	}
}
