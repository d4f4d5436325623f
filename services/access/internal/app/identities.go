package app

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/pave-platform/pave/pkg/authn"
	"github.com/pave-platform/pave/services/access/audit"
	"github.com/pave-platform/pave/services/access/internal/domain"
)

// Identities handles teams, members, service accounts and platform roles.
// The gateway has already decided that the caller may; every change is
// recorded in the audit ledger before it is answered.
type Identities struct {
	dir   Directory
	rec   Recorder
	now   func() time.Time
	guard TeamGuard
}

// TeamGuard knows what a team still has (its live environments and
// workloads, from events; its grants and requests) and ends the access
// part of it when the team goes.
type TeamGuard interface {
	Live(team string) (environments, workloads []string)
	TeamAccess(team string) (grants, requests []string)
	EndTeam(ctx context.Context, by, team string) error
}

// WithTeamGuard refuses to delete a team that still has something.
func (h *Identities) WithTeamGuard(g TeamGuard) *Identities {
	h.guard = g
	return h
}

// ConflictError refuses a change, naming what is in the way per field.
type ConflictError struct {
	Message string
	Fields  map[string][]string
}

func (e *ConflictError) Error() string { return e.Message }

// NewIdentities builds the handlers.
func NewIdentities(dir Directory, rec Recorder) *Identities {
	return &Identities{dir: dir, rec: rec, now: time.Now}
}

func (h *Identities) record(ctx context.Context, by authn.Principal, team, action, resource string, details map[string]string) error {
	err := h.rec.Append(ctx, audit.Record{Kind: audit.KindIdentity, Actor: by.ID, ActorKind: by.Kind,
		Team: team, Action: action, Resource: resource, Details: details})
	if err != nil {
		return fmt.Errorf("record %s: %w", action, err)
	}
	return nil
}

// CreateTeam creates a team.
func (h *Identities) CreateTeam(ctx context.Context, by authn.Principal, name string) (domain.Team, error) {
	if err := domain.CheckName("name", name); err != nil {
		return domain.Team{}, err
	}
	t := domain.Team{ID: domain.NewTeamID(), Name: name, CreatedAt: h.now().UTC()}
	if err := h.dir.CreateTeam(ctx, t); err != nil {
		return domain.Team{}, err
	}
	return t, h.record(ctx, by, name, "team.created", "Team::"+name, nil)
}

// DeleteTeam deletes a team with its members and service accounts. A team
// with live environments or workloads is refused; one with grants or
// pending requests too, unless cascade, which revokes and denies them. A
// team re-created with the name inherits nothing: its grants are ended,
// its requests denied, and its old service accounts' tokens predate any new
// account of the same name, so they never authenticate again.
func (h *Identities) DeleteTeam(ctx context.Context, by authn.Principal, name string, cascade bool) error {
	t, ok := h.dir.Team(name)
	if !ok {
		return ErrNotFound
	}
	if h.guard != nil {
		envs, wls := h.guard.Live(name)
		grants, reqs := h.guard.TeamAccess(name)
		fields := map[string][]string{}
		for k, v := range map[string][]string{"environments": envs, "workloads": wls, "grants": grants, "access_requests": reqs} {
			if len(v) > 0 {
				fields[k] = v
			}
		}
		switch {
		case len(envs)+len(wls) > 0 && cascade:
			return &ConflictError{Message: fmt.Sprintf("team %s still has %d environment(s) and %d workload(s); cascade to "+
				"environments and workloads is not implemented: tear them down (or cancel them) first", name, len(envs), len(wls)), Fields: fields}
		case len(fields) > 0 && !cascade:
			return &ConflictError{Message: fmt.Sprintf("team %s still has %s; tear down its environments and workloads, "+
				"or delete with ?cascade=true to revoke its grants and deny its requests", name, summary(fields)), Fields: fields}
		}
		if err := h.guard.EndTeam(ctx, by.ID, name); err != nil {
			return fmt.Errorf("end team %s's access: %w", name, err)
		}
	}
	if err := h.dir.DeleteTeam(ctx, name); err != nil {
		return err
	}
	return h.record(ctx, by, name, "team.deleted", "Team::"+name, map[string]string{"id": t.ID, "cascade": fmt.Sprint(cascade)})
}

func summary(fields map[string][]string) string {
	var parts []string
	for _, k := range []string{"environments", "workloads", "grants", "access_requests"} {
		if v := fields[k]; len(v) > 0 {
			parts = append(parts, fmt.Sprintf("%d %s (%s)", len(v), strings.ReplaceAll(k, "_", " "), strings.Join(first(v, 5), ", ")))
		}
	}
	return strings.Join(parts, ", ")
}

func first(v []string, n int) []string {
	if len(v) > n {
		return append(append([]string{}, v[:n]...), "...")
	}
	return v
}

// PutMember adds a user to a team, or changes the user's role.
func (h *Identities) PutMember(ctx context.Context, by authn.Principal, team, user, role string) (domain.Member, error) {
	if _, ok := h.dir.Team(team); !ok {
		return domain.Member{}, ErrNotFound
	}
	if err := domain.CheckUser("user", user); err != nil {
		return domain.Member{}, err
	}
	if err := domain.CheckTeamRole("role", role); err != nil {
		return domain.Member{}, err
	}
	m := domain.Member{Team: team, User: user, Role: role, AddedAt: h.now().UTC()}
	if err := h.dir.PutMember(ctx, m); err != nil {
		return domain.Member{}, err
	}
	return m, h.record(ctx, by, team, "member.set", "User::"+user, map[string]string{"role": role})
}

// RemoveMember removes a user from a team.
func (h *Identities) RemoveMember(ctx context.Context, by authn.Principal, team, user string) error {
	if _, ok := h.dir.Memberships(user)[team]; !ok {
		return ErrNotFound
	}
	if err := h.dir.RemoveMember(ctx, team, user); err != nil {
		return err
	}
	return h.record(ctx, by, team, "member.removed", "User::"+user, nil)
}

// CreateServiceAccount creates a service account with a team role.
func (h *Identities) CreateServiceAccount(ctx context.Context, by authn.Principal, team, name, role string) (domain.ServiceAccount, error) {
	if _, ok := h.dir.Team(team); !ok {
		return domain.ServiceAccount{}, ErrNotFound
	}
	if err := domain.CheckName("name", name); err != nil {
		return domain.ServiceAccount{}, err
	}
	if err := domain.CheckTeamRole("role", role); err != nil {
		return domain.ServiceAccount{}, err
	}
	s := domain.ServiceAccount{Team: team, Name: name, Role: role, CreatedAt: h.now().UTC()}
	if err := h.dir.CreateServiceAccount(ctx, s); err != nil {
		return domain.ServiceAccount{}, err
	}
	return s, h.record(ctx, by, team, "service-account.created", "ServiceAccount::"+s.ID(), map[string]string{"role": role})
}

// DeleteServiceAccount deletes a service account; its tokens stop working
// at once because authentication finds no identity behind them.
func (h *Identities) DeleteServiceAccount(ctx context.Context, by authn.Principal, team, name string) error {
	if _, ok := h.dir.ServiceAccount(team, name); !ok {
		return ErrNotFound
	}
	if err := h.dir.DeleteServiceAccount(ctx, team, name); err != nil {
		return err
	}
	return h.record(ctx, by, team, "service-account.deleted", "ServiceAccount::"+team+"/"+name, nil)
}

// SetPlatformRoles replaces a user's platform roles.
func (h *Identities) SetPlatformRoles(ctx context.Context, by authn.Principal, user string, roles []string) (domain.User, error) {
	if err := domain.CheckUser("user", user); err != nil {
		return domain.User{}, err
	}
	if err := domain.CheckPlatformRoles("roles", roles); err != nil {
		return domain.User{}, err
	}
	u := domain.User{ID: user, Roles: append([]string{}, roles...)}
	if err := h.dir.PutUser(ctx, u); err != nil {
		return domain.User{}, err
	}
	return u, h.record(ctx, by, "", "platform-roles.set", "User::"+user, map[string]string{"roles": fmt.Sprint(roles)})
}
