package app

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/pave-platform/pave/services/provisioning/internal/domain"
)

// TombstoneLedger lists the ledger and forgets records.
type TombstoneLedger interface {
	LedgerLister
	// Forget removes id's record if stale says the record as stored may
	// go; true when it is gone.
	Forget(ctx context.Context, id string, stale func(domain.Record) bool) (bool, error)
}

// GrantTombstones lists the grant store and forgets grant records.
type GrantTombstones interface {
	ListGrants(ctx context.Context) ([]domain.Grant, error)
	ListIssued(ctx context.Context) ([]domain.Issued, error)
	// ForgetGrant removes grant id's record if stale says the record as
	// stored may go; true when it is gone.
	ForgetGrant(ctx context.Context, id string, stale func(domain.Grant) bool) (bool, error)
}

// Tombstones removes the tombstones whose retention is over, and the
// grants that ended before it, so that the ledger holds what is live and
// what was deleted lately, not every id ever deleted. A tombstone refuses a late provision of its id while it
// is kept; after it, Provision refuses a command by its age (see
// Provision.HandleIssued). Several replicas may sweep at once: each
// record is checked again as stored before it goes.
type Tombstones struct {
	Ledger TombstoneLedger
	// Grants, when set, also loses the grants that ended (expired or
	// revoked) before the horizon and name no issued login.
	Grants GrantTombstones
	// Retention is how long a tombstone is kept after its last write;
	// zero keeps every tombstone.
	Retention time.Duration
	Now       func() time.Time
}

// horizon is the last write before which a tombstone may go; zero when
// every tombstone is kept.
func (t *Tombstones) horizon() time.Time {
	if t.Retention <= 0 {
		return time.Time{}
	}
	now := time.Now()
	if t.Now != nil {
		now = t.Now()
	}
	return now.UTC().Add(-t.Retention)
}

// Sweep removes every tombstone last written before the horizon and
// answers how many it removed.
func (t *Tombstones) Sweep(ctx context.Context) (int, error) {
	h := t.horizon()
	if h.IsZero() {
		return 0, nil
	}
	n, err := t.sweepLedger(ctx, h)
	if t.Grants != nil && ctx.Err() == nil {
		g, gerr := t.sweepGrants(ctx, h)
		n, err = n+g, errors.Join(err, gerr)
	}
	return n, errors.Join(err, ctx.Err())
}

func (t *Tombstones) sweepLedger(ctx context.Context, h time.Time) (int, error) {
	recs, err := t.Ledger.List(ctx)
	if err != nil {
		return 0, fmt.Errorf("list ledger: %w", err)
	}
	stale := func(r domain.Record) bool { return r.TombstonedBefore(h) }
	n := 0
	var errs []error
	for _, r := range recs {
		if !stale(r) || ctx.Err() != nil {
			continue
		}
		gone, err := t.Ledger.Forget(ctx, r.ResourceID, stale)
		if err != nil {
			errs = append(errs, fmt.Errorf("forget tombstone %s: %w", r.ResourceID, err))
		}
		if gone {
			n++
		}
	}
	return n, errors.Join(errs...)
}

// sweepGrants forgets the grants that ended before h and that no issued
// login still names (a login is dropped before its grant may go).
func (t *Tombstones) sweepGrants(ctx context.Context, h time.Time) (int, error) {
	grants, err := t.Grants.ListGrants(ctx)
	if err != nil {
		return 0, fmt.Errorf("list grants: %w", err)
	}
	issued, err := t.Grants.ListIssued(ctx)
	if err != nil {
		return 0, fmt.Errorf("list issued logins: %w", err)
	}
	named := map[string]bool{}
	for _, i := range issued {
		named[i.GrantID] = true
	}
	stale := func(g domain.Grant) bool { return g.EndedBefore(h) }
	n := 0
	var errs []error
	for _, g := range grants {
		if !stale(g) || named[g.GrantID] || ctx.Err() != nil {
			continue
		}
		gone, err := t.Grants.ForgetGrant(ctx, g.GrantID, stale)
		if err != nil {
			errs = append(errs, fmt.Errorf("forget grant %s: %w", g.GrantID, err))
		}
		if gone {
			n++
		}
	}
	return n, errors.Join(errs...)
}
