package app

import (
	"context"
	"errors"

	"github.com/pave-platform/pave/services/access/audit"
	"github.com/pave-platform/pave/services/access/internal/domain"
)

// Errors of the identity handlers.
var (
	ErrExists   = errors.New("already exists")
	ErrNotFound = errors.New("not found")
	// ErrForbidden is an object-level refusal the gateway's route-level
	// decision cannot see (another user's token).
	ErrForbidden = errors.New("forbidden")
)

// Directory stores identities and answers reads from memory.
type Directory interface {
	CreateTeam(ctx context.Context, t domain.Team) error
	DeleteTeam(ctx context.Context, name string) error
	PutMember(ctx context.Context, m domain.Member) error
	RemoveMember(ctx context.Context, team, user string) error
	CreateServiceAccount(ctx context.Context, s domain.ServiceAccount) error
	DeleteServiceAccount(ctx context.Context, team, name string) error
	PutUser(ctx context.Context, u domain.User) error

	Team(name string) (domain.Team, bool)
	Teams() []domain.Team
	Members(team string) []domain.Member
	Memberships(user string) map[string]string
	ServiceAccount(team, name string) (domain.ServiceAccount, bool)
	ServiceAccounts(team string) []domain.ServiceAccount
	User(id string) (domain.User, bool)
}

// Recorder appends to the audit ledger.
type Recorder interface {
	Append(ctx context.Context, r audit.Record) error
}

// TokenStore is every token operation.
type TokenStore interface {
	TokenWriter
	Put(ctx context.Context, t domain.Token) error
	List(ctx context.Context) ([]domain.Token, error)
}
