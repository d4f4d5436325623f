// Package app holds the access service's command and query handlers.
package app

import (
	"context"
	"errors"
	"fmt"
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

// Authenticate answers who a bearer token belongs to.
type Authenticate struct {
	tokens TokenReader
	now    func() time.Time
}

// NewAuthenticate builds the handler.
func NewAuthenticate(tokens TokenReader) *Authenticate {
	return &Authenticate{tokens: tokens, now: time.Now}
}

// Handle returns the principal, or authn.ErrUnauthenticated for a token
// that is malformed, unknown, expired or revoked.
func (a *Authenticate) Handle(ctx context.Context, secret string) (authn.Principal, error) {
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
	if !tok.Active(a.now()) {
		return authn.Principal{}, authn.ErrUnauthenticated
	}
	return authn.Principal{ID: tok.Subject, Kind: tok.Kind, Name: tok.Subject, Roles: tok.Roles}, nil
}
