package app_test

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/pave-platform/pave/pkg/authn"
	"github.com/pave-platform/pave/pkg/testkit"
	"github.com/pave-platform/pave/services/access/internal/adapters"
	"github.com/pave-platform/pave/services/access/internal/app"
	"github.com/pave-platform/pave/services/access/internal/domain"
)

func newTokens(t *testing.T) *adapters.KVTokens {
	t.Helper()
	srv := testkit.NATS(t)
	tokens, err := adapters.NewKVTokens(context.Background(), srv.JetStream(t), 1)
	require.NoError(t, err)
	return tokens
}

func TestBootstrapGeneratesOnceAndAuthenticates(t *testing.T) {
	ctx := context.Background()
	tokens := newTokens(t)
	file := filepath.Join(t.TempDir(), "sub", "token")

	generated, err := app.NewBootstrap(tokens).Ensure(ctx, "", file)
	require.NoError(t, err)
	assert.True(t, generated)
	raw, err := os.ReadFile(file)
	require.NoError(t, err)
	secret := strings.TrimSpace(string(raw))

	generated, err = app.NewBootstrap(tokens).Ensure(ctx, "", file)
	require.NoError(t, err)
	assert.False(t, generated, "a second start keeps the token")

	p, err := app.NewAuthenticate(tokens, nil).Handle(ctx, secret)
	require.NoError(t, err)
	assert.Equal(t, "bootstrap-admin", p.ID)
	assert.Equal(t, []string{domain.RolePlatformAdmin}, p.Roles)
}

func TestBootstrapRegistersOperatorToken(t *testing.T) {
	ctx := context.Background()
	tokens := newTokens(t)
	secret, err := domain.NewSecret()
	require.NoError(t, err)
	_, err = app.NewBootstrap(tokens).Ensure(ctx, secret, "")
	require.NoError(t, err)
	_, err = app.NewAuthenticate(tokens, nil).Handle(ctx, secret)
	assert.NoError(t, err)

	_, err = app.NewBootstrap(tokens).Ensure(ctx, "not-a-token", "")
	assert.ErrorIs(t, err, domain.ErrMalformedToken)
}

func TestAuthenticateRefusesUnknownExpiredAndRevoked(t *testing.T) {
	ctx := context.Background()
	tokens := newTokens(t)
	store := func(mut func(*domain.Token)) string {
		secret, err := domain.NewSecret()
		require.NoError(t, err)
		hash, err := domain.HashSecret(secret)
		require.NoError(t, err)
		tok := domain.Token{ID: "t-" + hash[:6], Hash: hash, Subject: "dev", Kind: "user", CreatedAt: time.Now()}
		mut(&tok)
		require.NoError(t, tokens.Create(ctx, tok))
		return secret
	}
	unknown, err := domain.NewSecret()
	require.NoError(t, err)
	tests := []struct {
		name, secret string
	}{
		{"unknown", unknown},
		{"malformed", "pave_!!"},
		{"expired", store(func(tk *domain.Token) { tk.ExpiresAt = time.Now().Add(-time.Second) })},
		{"revoked", store(func(tk *domain.Token) { tk.RevokedAt = time.Now().Add(-time.Second) })},
	}
	auth := app.NewAuthenticate(tokens, nil)
	for _, tt := range tests {
		_, err := auth.Handle(ctx, tt.secret)
		assert.ErrorIs(t, err, authn.ErrUnauthenticated, tt.name)
	}
}
