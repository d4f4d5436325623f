package app

import (
	"context"
	"fmt"
	"time"

	"github.com/pave-platform/pave/pkg/authn"
	"github.com/pave-platform/pave/services/access/audit"
	"github.com/pave-platform/pave/services/access/internal/domain"
)

// Identities handles teams, members, service accounts and platform roles.
// The gateway has already decided that the caller may; every change is
// recorded in the audit ledger before it is answered.
type Identities struct {
	dir Directory
	rec Recorder
	now func() time.Time
}

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
	t := domain.Team{Name: name, CreatedAt: h.now().UTC()}
	if err := h.dir.CreateTeam(ctx, t); err != nil {
		return domain.Team{}, err
	}
	return t, h.record(ctx, by, name, "team.created", "Team::"+name, nil)
}

// DeleteTeam deletes a team with its members and service accounts.
func (h *Identities) DeleteTeam(ctx context.Context, by authn.Principal, name string) error {
	if _, ok := h.dir.Team(name); !ok {
		return ErrNotFound
	}
	if err := h.dir.DeleteTeam(ctx, name); err != nil {
		return err
	}
	return h.record(ctx, by, name, "team.deleted", "Team::"+name, nil)
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
