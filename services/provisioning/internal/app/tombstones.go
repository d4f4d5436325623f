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

// Tombstones removes the tombstones whose retention is over, so that the
// ledger holds what is live and what was deleted lately, not every id
// ever deleted. A tombstone refuses a late provision of its id while it
// is kept; after it, Provision refuses a command by its age (see
// Provision.HandleIssued). Several replicas may sweep at once: each
// record is checked again as stored before it goes.
type Tombstones struct {
	Ledger TombstoneLedger
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
	return n, errors.Join(append(errs, ctx.Err())...)
}
