// Package app holds the access service's command and query handlers.
package app

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sort"
	"time"

	"github.com/pave-platform/pave/pkg/authn"
	"github.com/pave-platform/pave/services/access/internal/domain"
)

// ErrTokenNotFound is returned by a TokenStore for an unknown hash.
var ErrTokenNotFound = errors.New("token not found")

// TokenReader finds a stored token by the hash of its secret.
type TokenReader interface {
	ByHash(ctx context.Context, hash string) (domain.Token, error)
}

// tokenToucher records a token's last use.
type tokenToucher interface {
	Put(ctx context.Context, t domain.Token) error
}

// lastUsedEvery bounds the writes last-use tracking costs: at most one per
// token per interval.
const lastUsedEvery = time.Minute

// Identity answers who is behind a token's subject.
type Identity interface {
	Memberships(user string) map[string]string
	ServiceAccount(team, name string) (domain.ServiceAccount, bool)
	User(id string) (domain.User, bool)
}

// Authenticate answers who a bearer token belongs to, with the teams,
// team roles and platform roles the directory holds now.
type Authenticate struct {
	tokens TokenReader
	dir    Identity
	now    func() time.Time
	oidc   *OIDC
}

// WithOIDC also accepts JWTs of an OpenID Connect issuer.
func (a *Authenticate) WithOIDC(o *OIDC) *Authenticate {
	a.oidc = o
	return a
}

// NewAuthenticate builds the handler; dir may be nil (tokens then carry
// only their own roles).
func NewAuthenticate(tokens TokenReader, dir Identity) *Authenticate {
	return &Authenticate{tokens: tokens, dir: dir, now: time.Now}
}

// Handle returns the principal, or authn.ErrUnauthenticated for a token
// that is malformed, unknown, expired or revoked, or whose service account
// no longer exists.
func (a *Authenticate) Handle(ctx context.Context, secret string) (authn.Principal, error) {
	if LooksLikeJWT(secret) {
		return a.jwt(ctx, secret)
	}
	hash, err := domain.HashSecret(secret)
	if err != nil {
		return authn.Principal{}, authn.ErrUnauthenticated
	}
	tok, err := a.tokens.ByHash(ctx, hash)
	if errors.Is(err, ErrTokenNotFound) {
		return authn.Principal{}, authn.ErrUnauthenticated
	}
	if err != nil {
		return authn.Principal{}, fmt.Errorf("authenticate: %w", err)
	}
	now := a.now()
	if !tok.Active(now) {
		return authn.Principal{}, authn.ErrUnauthenticated
	}
	p, ok := a.principal(tok)
	if !ok {
		return authn.Principal{}, authn.ErrUnauthenticated
	}
	a.touch(ctx, tok, now)
	return p, nil
}

func (a *Authenticate) principal(tok domain.Token) (authn.Principal, bool) {
	p := authn.Principal{ID: tok.Subject, Kind: tok.Kind, Name: tok.Subject, Roles: append([]string{}, tok.Roles...)}
	if a.dir == nil {
		return p, true
	}
	switch tok.Kind {
	case domain.KindServiceAccount:
		team, name, _ := cutSA(tok.Subject)
		sa, ok := a.dir.ServiceAccount(team, name)
		// A token older than its account belongs to an earlier account of
		// the same name (deleted, or its team deleted and made again).
		if !ok || tok.CreatedAt.Before(sa.CreatedAt) {
			return authn.Principal{}, false
		}
		p.TeamRoles = map[string]string{team: sa.Role}
	default:
		p.TeamRoles = a.dir.Memberships(tok.Subject)
		if u, ok := a.dir.User(tok.Subject); ok {
			for _, r := range u.Roles {
				if !slices.Contains(p.Roles, r) {
					p.Roles = append(p.Roles, r)
				}
			}
		}
	}
	for team := range p.TeamRoles {
		p.Teams = append(p.Teams, team)
	}
	sort.Strings(p.Teams)
	if len(p.TeamRoles) == 0 {
		p.TeamRoles = nil
	}
	return p, true
}

// touch records the last use; a failure costs only the timestamp.
func (a *Authenticate) touch(ctx context.Context, tok domain.Token, now time.Time) {
	w, ok := a.tokens.(tokenToucher)
	if !ok || now.Sub(tok.LastUsedAt) < lastUsedEvery {
		return
	}
	tok.LastUsedAt = now.UTC()
	_ = w.Put(ctx, tok)
}

// jwt authenticates an OIDC token: the claims' teams and roles, joined
// with what the directory holds for the user (the higher role wins).
func (a *Authenticate) jwt(ctx context.Context, token string) (authn.Principal, error) {
	if a.oidc == nil {
		return authn.Principal{}, &authn.UnauthenticatedError{Reason: "JWT bearer tokens are not accepted: no OIDC issuer is configured"}
	}
	user, teams, roles, err := a.oidc.Verify(ctx, token)
	if err != nil {
		return authn.Principal{}, err
	}
	p := authn.Principal{ID: user, Kind: authn.KindUser, Name: user, Roles: roles, TeamRoles: map[string]string{}}
	if a.dir != nil {
		for team, role := range a.dir.Memberships(user) {
			p.TeamRoles[team] = role
		}
		if u, ok := a.dir.User(user); ok {
			for _, r := range u.Roles {
				if !slices.Contains(p.Roles, r) {
					p.Roles = append(p.Roles, r)
				}
			}
		}
	}
	for team, role := range teams {
		if rank(role) > rank(p.TeamRoles[team]) {
			p.TeamRoles[team] = role
		}
	}
	for team := range p.TeamRoles {
		p.Teams = append(p.Teams, team)
	}
	sort.Strings(p.Teams)
	if len(p.TeamRoles) == 0 {
		p.TeamRoles = nil
	}
	if p.Roles == nil {
		p.Roles = []string{}
	}
	return p, nil
}
