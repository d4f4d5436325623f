// Package domain holds the access service's pure types and rules.
package domain

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/base32"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
	"time"
)

// TokenPrefix makes Pave tokens recognisable (secret scanners, logs).
const TokenPrefix = "pave_"

// ErrMalformedToken means the credential is not shaped like a Pave token.
var ErrMalformedToken = errors.New("malformed token")

// Roles of the platform.
const RolePlatformAdmin = "platform-admin"

// Token is a stored API token: only its hash is kept.
type Token struct {
	ID      string `json:"id"`
	Hash    string `json:"hash"`
	Subject string `json:"subject"`
	Kind    string `json:"kind"`
	// Roles are platform roles the token itself carries (the bootstrap
	// token); others take their roles from the identity.
	Roles      []string  `json:"roles"`
	Name       string    `json:"name,omitempty"`
	CreatedBy  string    `json:"created_by,omitempty"`
	CreatedAt  time.Time `json:"created_at"`
	ExpiresAt  time.Time `json:"expires_at,omitzero"`
	LastUsedAt time.Time `json:"last_used_at,omitzero"`
	RevokedAt  time.Time `json:"revoked_at,omitzero"`
}

// NewTokenID is a token's public id (never derived from the secret).
func NewTokenID() string {
	var b [8]byte
	_, _ = rand.Read(b[:])
	return "tok-" + hex.EncodeToString(b[:])
}

// Active reports whether the token may be used at t.
func (t Token) Active(at time.Time) bool {
	return t.RevokedAt.IsZero() && (t.ExpiresAt.IsZero() || at.Before(t.ExpiresAt))
}

// NewSecret generates a token: the prefix and 32 random bytes (256 bits).
func NewSecret() (string, error) {
	var b [32]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", fmt.Errorf("generate token: %w", err)
	}
	return TokenPrefix + strings.ToLower(base32.StdEncoding.WithPadding(base32.NoPadding).EncodeToString(b[:])), nil
}

// HashSecret is the stored form of a token. A fast hash is right here:
// the secret has 256 bits of entropy, so there is nothing to brute-force.
func HashSecret(secret string) (string, error) {
	if err := CheckShape(secret); err != nil {
		return "", err
	}
	sum := sha256.Sum256([]byte(secret))
	return hex.EncodeToString(sum[:]), nil
}

// CheckShape refuses anything that cannot be a Pave token before any lookup.
func CheckShape(secret string) error {
	body, ok := strings.CutPrefix(secret, TokenPrefix)
	if !ok {
		return fmt.Errorf("%w: does not start with %q", ErrMalformedToken, TokenPrefix)
	}
	if len(body) < 32 || len(body) > 128 {
		return fmt.Errorf("%w: wrong length", ErrMalformedToken)
	}
	for _, c := range body {
		if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '_' || c == '-') {
			return fmt.Errorf("%w: unexpected character", ErrMalformedToken)
		}
	}
	return nil
}
