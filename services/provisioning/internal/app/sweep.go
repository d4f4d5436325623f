package app

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/pave-platform/pave/pkg/bus"
	"github.com/pave-platform/pave/pkg/events"
	"github.com/pave-platform/pave/services/provisioning/internal/domain"
)

// LedgerLister lists every record, tombstones included.
type LedgerLister interface {
	List(ctx context.Context) ([]domain.Record, error)
}

// Sweep finds orphans: real objects with Pave's prefix that no live
// ledger record names. Because provision records names before it creates
// anything, an object being created is never taken for an orphan.
type Sweep struct {
	Ledger    LedgerLister
	Drivers   *Drivers
	Publisher Publisher
	// Remove deletes orphans; otherwise they are only reported.
	Remove bool
	Now    func() time.Time
}

// Orphan is one object the sweep found.
type Orphan struct {
	Driver, ExternalID string
	Removed            bool
	// Err is why removal failed, if it did.
	Err error
}

// Run sweeps once. Inventories are read before the ledger and again after
// it: an object must be in both, and in no live record, to be an orphan,
// so a resource deprovisioned during the sweep is not reported.
func (s *Sweep) Run(ctx context.Context) ([]Orphan, error) {
	now := time.Now().UTC()
	if s.Now != nil {
		now = s.Now().UTC()
	}
	var errs []error
	first := map[string][]string{}
	for _, name := range s.Drivers.Names() {
		d, _ := s.Drivers.Get(name)
		inv, err := d.Inventory(ctx)
		if err != nil {
			errs = append(errs, fmt.Errorf("inventory of driver %s: %w", name, err))
			continue
		}
		first[name] = inv
	}
	known, err := s.known(ctx)
	if err != nil {
		return nil, errors.Join(append(errs, err)...)
	}
	var orphans []Orphan
	for _, name := range s.Drivers.Names() {
		found, err := s.orphansOf(ctx, name, first[name], known[name], now)
		orphans = append(orphans, found...)
		if err != nil {
			errs = append(errs, err)
		}
	}
	return orphans, errors.Join(errs...)
}

// known maps each driver to the external ids of its live records.
func (s *Sweep) known(ctx context.Context) (map[string]map[string]bool, error) {
	recs, err := s.Ledger.List(ctx)
	if err != nil {
		return nil, fmt.Errorf("list ledger: %w", err)
	}
	known := map[string]map[string]bool{}
	for _, r := range recs {
		if !r.State.Live() {
			continue
		}
		if known[r.Driver] == nil {
			known[r.Driver] = map[string]bool{}
		}
		for _, id := range r.ExternalIDs {
			known[r.Driver][id] = true
		}
	}
	return known, nil
}

func (s *Sweep) orphansOf(ctx context.Context, name string, first []string, known map[string]bool, now time.Time) ([]Orphan, error) {
	candidates := slices.DeleteFunc(slices.Clone(first), func(id string) bool { return known[id] })
	if len(candidates) == 0 {
		return nil, nil
	}
	d, _ := s.Drivers.Get(name)
	again, err := d.Inventory(ctx)
	if err != nil {
		return nil, fmt.Errorf("inventory of driver %s: %w", name, err)
	}
	var orphans []Orphan
	var errs []error
	for _, id := range candidates {
		if !slices.Contains(again, id) {
			continue
		}
		o := Orphan{Driver: name, ExternalID: id}
		if s.Remove {
			if o.Err = d.Remove(ctx, id); o.Err == nil {
				o.Removed = true
			}
		}
		if err := s.report(ctx, o, now); err != nil {
			errs = append(errs, err)
		}
		orphans = append(orphans, o)
	}
	return orphans, errors.Join(errs...)
}

func (s *Sweep) report(ctx context.Context, o Orphan, now time.Time) error {
	id := fmt.Sprintf("orphan/%s/%s/%d", o.Driver, o.ExternalID, now.UnixNano())
	e, err := bus.NewEvent(id, Source, events.TypeResourceOrphaned, events.ResourceOrphaned{
		Driver: o.Driver, ExternalID: o.ExternalID, Removed: o.Removed, DetectedAt: now,
	})
	if err != nil {
		return err
	}
	e.SetSubject(o.ExternalID)
	if err := s.Publisher.Publish(ctx, e); err != nil {
		return fmt.Errorf("report orphan %s: %w", o.ExternalID, err)
	}
	return nil
}
