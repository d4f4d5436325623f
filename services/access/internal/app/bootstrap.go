package app

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/pave-platform/pave/services/access/internal/domain"
)

// TokenWriter stores a token unless one with the same hash exists.
type TokenWriter interface {
	TokenReader
	Create(ctx context.Context, t domain.Token) error
}

// Bootstrap makes sure the platform has its first admin token.
type Bootstrap struct {
	tokens TokenWriter
}

// NewBootstrap builds the handler.
func NewBootstrap(tokens TokenWriter) *Bootstrap { return &Bootstrap{tokens: tokens} }

// Ensure registers the bootstrap admin token. With secret set (an
// operator-supplied PAVE_BOOTSTRAP_TOKEN) that one is registered. With a
// file path, the token in the file is registered, or — when the file does
// not exist yet and no token is stored — a new one is generated and written
// there with mode 0600. It reports whether a new token was generated.
func (b *Bootstrap) Ensure(ctx context.Context, secret, file string) (bool, error) {
	generated := false
	if secret == "" && file != "" {
		raw, err := os.ReadFile(file)
		switch {
		case err == nil:
			secret = strings.TrimSpace(string(raw))
		case errors.Is(err, os.ErrNotExist):
			if secret, err = domain.NewSecret(); err != nil {
				return false, err
			}
			if err := writeSecret(file, secret); err != nil {
				return false, err
			}
			generated = true
		default:
			return false, fmt.Errorf("read bootstrap token %s: %w", file, err)
		}
	}
	if secret == "" {
		return false, nil
	}
	hash, err := domain.HashSecret(secret)
	if err != nil {
		return false, fmt.Errorf("bootstrap token: %w", err)
	}
	if _, err := b.tokens.ByHash(ctx, hash); err == nil {
		return generated, nil
	} else if !errors.Is(err, ErrTokenNotFound) {
		return false, fmt.Errorf("bootstrap token: %w", err)
	}
	return generated, b.tokens.Create(ctx, domain.Token{
		ID: "tok-bootstrap-" + hash[:12], Hash: hash, Subject: "bootstrap-admin", Kind: "user",
		Roles: []string{domain.RolePlatformAdmin}, CreatedAt: time.Now().UTC(),
	})
}

func writeSecret(file, secret string) error {
	if err := os.MkdirAll(filepath.Dir(file), 0o700); err != nil {
		return fmt.Errorf("write bootstrap token: %w", err)
	}
	if err := os.WriteFile(file, []byte(secret+"\n"), 0o600); err != nil {
		return fmt.Errorf("write bootstrap token: %w", err)
	}
	return nil
}
