package app

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/pave-platform/pave/pkg/events"
	"github.com/pave-platform/pave/services/provisioning/internal/domain"
)

// GrantDriver issues and drops the logins of grants on a driver's
// resources, and lists what the target really holds (for drift).
type GrantDriver interface {
	// IssueGrant creates login name on resource resourceID, or resets it
	// with a new password; writes picks read/write over read-only, and
	// until is a second expiry the target enforces itself where it can.
	IssueGrant(ctx context.Context, resourceID, name string, writes bool, until time.Time) (domain.Credentials, error)
	// RevokeGrant drops login name and ends its sessions; absent is fine.
	RevokeGrant(ctx context.Context, resourceID, name string) error
	// Logins lists the logins, other than the resource's own, that hold
	// rights on the resource.
	Logins(ctx context.Context, resourceID string) ([]string, error)
	// GrantNames lists every login on the target named with domain.GrantPrefix.
	GrantNames(ctx context.Context) ([]string, error)
	// Strip takes a login's rights on the resource away and keeps the
	// login: it is not Pave's to drop.
	Strip(ctx context.Context, resourceID, name string) error
}

// GrantStore keeps the desired credential state, compare-and-set on
// revision (Revision 0 creates): grants, the environments they apply to,
// and the logins issued. Get returns ErrNotFound, a lost race ErrConflict.
type GrantStore interface {
	GetGrant(ctx context.Context, id string) (domain.Grant, error)
	PutGrant(ctx context.Context, g domain.Grant) (domain.Grant, error)
	ListGrants(ctx context.Context) ([]domain.Grant, error)
	GetTarget(ctx context.Context, envID string) (domain.Target, error)
	PutTarget(ctx context.Context, t domain.Target) (domain.Target, error)
	ListTargets(ctx context.Context) ([]domain.Target, error)
	GetIssued(ctx context.Context, name string) (domain.Issued, error)
	PutIssued(ctx context.Context, i domain.Issued) (domain.Issued, error)
	DeleteIssued(ctx context.Context, i domain.Issued) error
	ListIssued(ctx context.Context) ([]domain.Issued, error)
}

// Grants turns the grants access announces into logins on the resources
// of the environments they cover, while those environments are active
// (from a credentials sync until a revoke).
type Grants struct {
	Store   GrantStore
	Ledger  LedgerLister
	Drivers *Drivers
	Sealer  Sealer
	// Publisher sends the answers of the sync and revoke commands.
	Publisher Publisher
	// Gone tells which drivers' servers were declared gone: a login there
	// is forgotten without its driver. Nil means none.
	Gone GoneLookup
	// MaxDeliver is the command consumer's delivery limit: on the last
	// delivery a transient error is answered with a failed event.
	MaxDeliver int
	// Lease is how long a login being issued keeps others from issuing it.
	Lease time.Duration
	Log   *slog.Logger
	Now   func() time.Time
}

func (g *Grants) now() time.Time {
	if g.Now == nil {
		return time.Now().UTC()
	}
	return g.Now().UTC()
}

func (g *Grants) log() *slog.Logger {
	if g.Log == nil {
		return slog.New(slog.DiscardHandler)
	}
	return g.Log
}

func (g *Grants) lease() time.Duration {
	if g.Lease <= 0 {
		return 2 * time.Minute
	}
	return g.Lease
}

// Activated records a grant and issues its logins on every active
// environment it covers. A grant revoked before it arrives stays revoked.
func (g *Grants) Activated(ctx context.Context, e events.GrantActivated) error {
	want := domain.Grant{GrantID: e.GrantID, Principal: e.Principal, Team: e.Team, Role: e.Role,
		ScopeKind: e.Scope.Kind, EnvironmentID: e.Scope.EnvironmentID, Stage: e.Scope.Stage, ExpiresAt: e.ExpiresAt.UTC()}
	if err := validGrant(want); err != nil {
		return err
	}
	cur, err := g.Store.GetGrant(ctx, e.GrantID)
	switch {
	case errors.Is(err, ErrNotFound):
		if cur, err = g.Store.PutGrant(ctx, want); err != nil {
			return fmt.Errorf("record grant %s: %w", e.GrantID, err)
		}
	case err != nil:
		return fmt.Errorf("read grant %s: %w", e.GrantID, err)
	}
	if !cur.Live(g.now()) {
		return nil
	}
	targets, err := g.Store.ListTargets(ctx)
	if err != nil {
		return fmt.Errorf("list environments: %w", err)
	}
	var errs []error
	for _, t := range targets {
		if t.Active && cur.Covers(t) {
			if _, err := g.materialise(ctx, t); err != nil {
				errs = append(errs, err)
			}
		}
	}
	return errors.Join(errs...)
}

// ErrBadGrant marks a grant event that can never be applied. Any other
// error of a grant event is worth retrying: a revocation must not be
// given up on because a target was briefly down.
var ErrBadGrant = errors.New("bad grant event")

func validGrant(gr domain.Grant) error {
	switch {
	case gr.GrantID == "" || gr.Team == "" || gr.Principal == "":
		return fmt.Errorf("%w: grant_id, team and principal are required", ErrBadGrant)
	case gr.ScopeKind == domain.ScopeEnvironment && gr.EnvironmentID == "":
		return fmt.Errorf("%w: grant %s: scope environment without environment_id", ErrBadGrant, gr.GrantID)
	case gr.ScopeKind == domain.ScopeStage && gr.Stage == "":
		return fmt.Errorf("%w: grant %s: scope stage without stage", ErrBadGrant, gr.GrantID)
	}
	return nil
}

// Revoked marks a grant revoked (a tombstone, also for a grant never
// seen) and drops every login it has, ending their sessions.
func (g *Grants) Revoked(ctx context.Context, e events.GrantRevoked) error {
	cur, err := g.Store.GetGrant(ctx, e.GrantID)
	switch {
	case errors.Is(err, ErrNotFound):
		cur = domain.Grant{GrantID: e.GrantID, Principal: e.Principal, Team: e.Team, Role: e.Role, ScopeKind: e.Scope.Kind,
			EnvironmentID: e.Scope.EnvironmentID, Stage: e.Scope.Stage, ExpiresAt: e.RevokedAt.UTC()}
	case err != nil:
		return fmt.Errorf("read grant %s: %w", e.GrantID, err)
	}
	if !cur.Revoked {
		cur.Revoked, cur.RevokedAt = true, e.RevokedAt.UTC()
		if _, err := g.Store.PutGrant(ctx, cur); err != nil {
			return fmt.Errorf("record revocation of grant %s: %w", e.GrantID, err)
		}
	}
	issued, err := g.Store.ListIssued(ctx)
	if err != nil {
		return fmt.Errorf("list issued logins: %w", err)
	}
	var errs []error
	for _, i := range issued {
		if i.GrantID == e.GrantID {
			errs = append(errs, g.drop(ctx, i))
		}
	}
	return errors.Join(errs...)
}

// activate records that the environment takes grant logins from now on
// (active) or no more (inactive), with its team and stage.
func (g *Grants) activate(ctx context.Context, envID, team, stage string, active bool) (domain.Target, error) {
	cur, err := g.Store.GetTarget(ctx, envID)
	switch {
	case errors.Is(err, ErrNotFound):
		cur = domain.Target{EnvironmentID: envID}
	case err != nil:
		return domain.Target{}, fmt.Errorf("read environment %s: %w", envID, err)
	}
	if team != "" {
		cur.Team, cur.Stage = team, stage
	}
	cur.Active, cur.UpdatedAt = active, g.now()
	t, err := g.Store.PutTarget(ctx, cur)
	if err != nil {
		return domain.Target{}, fmt.Errorf("record environment %s: %w", envID, err)
	}
	return t, nil
}
