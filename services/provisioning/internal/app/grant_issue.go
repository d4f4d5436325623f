package app

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"time"

	"github.com/pave-platform/pave/services/provisioning/internal/domain"
)

// desired lists the logins the grants call for: one per live grant and
// ready resource (of a driver that takes grant logins) of every active
// environment the grant covers, by name.
func (g *Grants) desired(ctx context.Context, targets []domain.Target) (map[string]domain.Issued, error) {
	active := map[string]domain.Target{}
	for _, t := range targets {
		if t.Active {
			active[t.EnvironmentID] = t
		}
	}
	want := map[string]domain.Issued{}
	if len(active) == 0 {
		return want, nil
	}
	grants, err := g.Store.ListGrants(ctx)
	if err != nil {
		return nil, fmt.Errorf("list grants: %w", err)
	}
	now := g.now()
	// The ledger holds every resource: read it only when a live grant
	// covers one of the environments (most syncs have none).
	covered := slices.ContainsFunc(grants, func(gr domain.Grant) bool {
		if !gr.Live(now) {
			return false
		}
		for _, t := range active {
			if gr.Covers(t) {
				return true
			}
		}
		return false
	})
	if !covered {
		return want, nil
	}
	recs, err := g.Ledger.List(ctx)
	if err != nil {
		return nil, fmt.Errorf("list ledger: %w", err)
	}
	for _, r := range recs {
		t, ok := active[r.EnvironmentID]
		if _, takes := g.Drivers.Grants(r.Driver); !ok || !takes || r.State != domain.StateReady {
			continue
		}
		for _, gr := range grants {
			if !gr.Live(now) || !gr.Covers(t) {
				continue
			}
			name := domain.CredentialName(gr.GrantID, r.ResourceID)
			want[name] = domain.Issued{Name: name, GrantID: gr.GrantID, Principal: gr.Principal, Team: gr.Team,
				EnvironmentID: r.EnvironmentID, ResourceID: r.ResourceID, Driver: r.Driver,
				Writes: gr.Writes(), ExpiresAt: gr.ExpiresAt}
		}
	}
	return want, nil
}

// materialise makes the environment's logins what its grants call for:
// it issues the missing ones and drops those no grant wants any more. It
// answers how many the environment has.
func (g *Grants) materialise(ctx context.Context, t domain.Target) (int, error) {
	want, err := g.desired(ctx, []domain.Target{t})
	if err != nil {
		return 0, err
	}
	issued, err := g.Store.ListIssued(ctx)
	if err != nil {
		return 0, fmt.Errorf("list issued logins: %w", err)
	}
	have := map[string]domain.Issued{}
	for _, i := range issued {
		if i.EnvironmentID == t.EnvironmentID {
			have[i.Name] = i
		}
	}
	var errs []error
	for _, name := range slices.Sorted(maps.Keys(want)) {
		cur, ok := have[name]
		if ok && len(cur.SealedCredentials) > 0 {
			continue
		}
		var curp *domain.Issued
		if ok {
			curp = &cur
		}
		errs = append(errs, g.issue(ctx, want[name], curp, false))
	}
	for _, name := range slices.Sorted(maps.Keys(have)) {
		if _, ok := want[name]; !ok {
			errs = append(errs, g.drop(ctx, have[name]))
		}
	}
	return len(want), errors.Join(errs...)
}

// issue makes one login. It claims the name in the store first (fenced by
// revision), so two handlers do not both set a password; force issues a
// login the store holds but the target lost (drift). A login whose grant
// or record went away meanwhile is dropped again.
func (g *Grants) issue(ctx context.Context, want domain.Issued, cur *domain.Issued, force bool) error {
	d, ok := g.Drivers.Grants(want.Driver)
	if !ok {
		return &domain.NotConfiguredError{Driver: want.Driver, Setting: g.Drivers.settings[want.Driver]}
	}
	claim, err := g.claim(ctx, want, cur, force)
	if err != nil || claim == nil {
		return err
	}
	creds, err := d.IssueGrant(ctx, want.ResourceID, want.Name, want.Writes, want.ExpiresAt)
	if err != nil {
		return fmt.Errorf("issue login %s on %s: %w", want.Name, want.ResourceID, err)
	}
	sealed, err := sealCredentials(g.Sealer, want.Name, &creds)
	if err != nil {
		return err
	}
	claim.SealedCredentials = sealed
	done, err := g.Store.PutIssued(ctx, *claim)
	if errors.Is(err, ErrConflict) { // dropped (or taken over) meanwhile: undo what was made
		return errors.Join(d.RevokeGrant(ctx, want.ResourceID, want.Name), fmt.Errorf("issue login %s: %w", want.Name, err))
	}
	if err != nil {
		return fmt.Errorf("record login %s: %w", want.Name, err)
	}
	g.log().InfoContext(ctx, "grant login issued", "login", done, "environment", want.EnvironmentID)
	if gr, err := g.Store.GetGrant(ctx, want.GrantID); err == nil && !gr.Live(g.now()) {
		return g.drop(ctx, done) // revoked while it was being issued
	}
	return nil
}

// claim writes the login's record without credentials. nil, nil means
// nothing is to be done: another handler has issued it.
func (g *Grants) claim(ctx context.Context, want domain.Issued, cur *domain.Issued, force bool) (*domain.Issued, error) {
	now := g.now()
	want.ClaimedAt = now
	if cur == nil {
		c, err := g.Store.PutIssued(ctx, want)
		if err == nil {
			return &c, nil
		}
		if !errors.Is(err, ErrConflict) {
			return nil, fmt.Errorf("claim login %s: %w", want.Name, err)
		}
		latest, gerr := g.Store.GetIssued(ctx, want.Name)
		if gerr != nil {
			return nil, fmt.Errorf("claim login %s: %w", want.Name, gerr)
		}
		cur = &latest
	}
	switch {
	case len(cur.SealedCredentials) > 0 && !force:
		return nil, nil
	case len(cur.SealedCredentials) == 0 && now.Sub(cur.ClaimedAt) < g.lease():
		return nil, fmt.Errorf("login %s is being issued since %s", want.Name, cur.ClaimedAt.Format(time.RFC3339))
	}
	want.Revision = cur.Revision
	c, err := g.Store.PutIssued(ctx, want)
	if err != nil {
		return nil, fmt.Errorf("claim login %s: %w", want.Name, err)
	}
	return &c, nil
}

// drop removes one login from its target, ending its sessions, then
// forgets it. Losing to a handler that re-issued it is an error, so the
// caller tries again.
//
// Two handlers may drop the same login at once (a grant's revocation and
// its environment's teardown): the one that finds it already forgotten is
// done too.
func (g *Grants) drop(ctx context.Context, i domain.Issued) error {
	gone, err := g.serverGone(ctx, i.Driver)
	if err != nil {
		return err
	}
	if !gone {
		d, ok := g.Drivers.Grants(i.Driver)
		if !ok {
			return &domain.NotConfiguredError{Driver: i.Driver, Setting: g.Drivers.settings[i.Driver]}
		}
		if err := d.RevokeGrant(ctx, i.ResourceID, i.Name); err != nil {
			return fmt.Errorf("drop login %s on %s: %w", i.Name, i.ResourceID, err)
		}
	}
	err = g.Store.DeleteIssued(ctx, i)
	if errors.Is(err, ErrConflict) {
		if _, gerr := g.Store.GetIssued(ctx, i.Name); errors.Is(gerr, ErrNotFound) {
			return nil
		}
	}
	if err != nil {
		return err
	}
	g.log().InfoContext(ctx, "grant login dropped", "login", i, "environment", i.EnvironmentID)
	return nil
}

// serverGone reports whether an operator declared driver's server gone:
// its logins are then forgotten without asking it.
func (g *Grants) serverGone(ctx context.Context, driver string) (bool, error) {
	if g.Gone == nil {
		return false, nil
	}
	_, gone, err := g.Gone.Declared(ctx, driver)
	if err != nil {
		return false, fmt.Errorf("read whether server %s is declared gone: %w", driver, err)
	}
	return gone, nil
}
