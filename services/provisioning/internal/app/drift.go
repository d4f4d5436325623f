package app

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/pave-platform/pave/pkg/bus"
	"github.com/pave-platform/pave/pkg/events"
	"github.com/pave-platform/pave/services/provisioning/internal/domain"
)

// Drift compares the logins every resource really has with those the
// grants call for. Extra is a login with rights on a resource that is
// neither the resource's own nor a live grant's: a paveg_ login no grant
// wants, or any other role or ACL user with rights on the resource's
// database or keys (superusers and users with every key are operators and
// not counted). Also extra: a paveg_ login with rights on no resource at
// all. Missing is a live grant's login that the resource lacks.
type Drift struct {
	Grants    *Grants
	Publisher Publisher
	// Remediate drops extras (a foreign login only loses its rights on the
	// resource) and issues missing logins again, instead of only reporting.
	Remediate bool
}

// Run sweeps once and publishes one drifted event per difference.
func (s *Drift) Run(ctx context.Context) ([]domain.Drift, error) {
	g := s.Grants
	targets, err := g.Store.ListTargets(ctx)
	if err != nil {
		return nil, fmt.Errorf("list environments: %w", err)
	}
	want, err := g.desired(ctx, targets)
	if err != nil {
		return nil, err
	}
	recs, err := g.Ledger.List(ctx)
	if err != nil {
		return nil, fmt.Errorf("list ledger: %w", err)
	}
	var found []domain.Drift
	var errs []error
	for _, driver := range g.Drivers.GrantNames() {
		var mine []domain.Record
		for _, r := range recs {
			if r.Driver == driver && r.State == domain.StateReady {
				mine = append(mine, r)
			}
		}
		drifts, err := s.compare(ctx, driver, mine, want)
		found = append(found, drifts...)
		errs = append(errs, err)
	}
	now := g.now()
	for i := range found {
		if s.Remediate {
			found[i] = s.remediate(ctx, found[i], want)
		}
		errs = append(errs, s.report(ctx, found[i], now))
	}
	return found, errors.Join(errs...)
}

// compare finds the differences on one driver's target.
func (s *Drift) compare(ctx context.Context, driver string, recs []domain.Record, want map[string]domain.Issued) ([]domain.Drift, error) {
	d, _ := s.Grants.Drivers.Grants(driver)
	named, err := d.GrantNames(ctx)
	if err != nil {
		return nil, fmt.Errorf("list grant logins of driver %s: %w", driver, err)
	}
	seen := map[string]bool{}
	var out []domain.Drift
	var errs []error
	for _, r := range recs {
		actual, err := d.Logins(ctx, r.ResourceID)
		if err != nil {
			errs = append(errs, fmt.Errorf("list logins on %s: %w", r.ResourceID, err))
			continue
		}
		for _, name := range actual {
			seen[name] = true
			if w, ok := want[name]; !ok || w.ResourceID != r.ResourceID {
				out = append(out, domain.Drift{Driver: driver, ResourceID: r.ResourceID, EnvironmentID: r.EnvironmentID,
					Kind: events.DriftExtra, Name: name})
			}
		}
		for _, name := range slices.Sorted(maps.Keys(want)) {
			if w := want[name]; w.ResourceID == r.ResourceID && !slices.Contains(actual, name) {
				out = append(out, domain.Drift{Driver: driver, ResourceID: r.ResourceID, EnvironmentID: r.EnvironmentID,
					Kind: events.DriftMissing, Name: name, GrantID: w.GrantID})
			}
		}
	}
	for _, name := range named {
		if _, ok := want[name]; !ok && !seen[name] {
			out = append(out, domain.Drift{Driver: driver, Kind: events.DriftExtra, Name: name})
		}
	}
	return out, errors.Join(errs...)
}

// remediate fixes one difference and says whether it did.
func (s *Drift) remediate(ctx context.Context, f domain.Drift, want map[string]domain.Issued) domain.Drift {
	g := s.Grants
	d, _ := g.Drivers.Grants(f.Driver)
	switch {
	case f.Kind == events.DriftMissing:
		w := want[f.Name]
		cur, err := g.Store.GetIssued(ctx, f.Name)
		var curp *domain.Issued
		if err == nil {
			curp = &cur
		}
		f.Err = g.issue(ctx, w, curp, true)
	case strings.HasPrefix(f.Name, domain.GrantPrefix):
		f.Err = d.RevokeGrant(ctx, f.ResourceID, f.Name)
		if cur, err := g.Store.GetIssued(ctx, f.Name); f.Err == nil && err == nil {
			f.Err = g.Store.DeleteIssued(ctx, cur)
		}
	default:
		f.Err = d.Strip(ctx, f.ResourceID, f.Name)
	}
	f.Remediated = f.Err == nil
	return f
}

func (s *Drift) report(ctx context.Context, f domain.Drift, now time.Time) error {
	data := events.CredentialDrifted{Driver: f.Driver, ResourceID: f.ResourceID, EnvironmentID: f.EnvironmentID,
		Kind: f.Kind, Name: f.Name, GrantID: f.GrantID, Remediated: f.Remediated, DetectedAt: now}
	if f.Err != nil {
		data.Error = reason(f.Err)
	}
	id := fmt.Sprintf("drift/%s/%s/%s/%d", f.Driver, f.Name, f.Kind, now.UnixNano())
	e, err := bus.NewEvent(id, Source, events.TypeCredentialDrifted, data)
	if err != nil {
		return err
	}
	e.SetSubject(f.Name)
	if err := s.Publisher.Publish(ctx, e); err != nil {
		return fmt.Errorf("report drift of %s: %w", f.Name, err)
	}
	return nil
}
