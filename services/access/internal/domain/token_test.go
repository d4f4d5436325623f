package domain_test

import (
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/pave-platform/pave/services/access/internal/domain"
)

func TestNewSecretIsPrefixedAndUnique(t *testing.T) {
	a, err := domain.NewSecret()
	require.NoError(t, err)
	b, err := domain.NewSecret()
	require.NoError(t, err)
	assert.True(t, strings.HasPrefix(a, domain.TokenPrefix))
	assert.NotEqual(t, a, b)
	assert.NoError(t, domain.CheckShape(a))
	ha, err := domain.HashSecret(a)
	require.NoError(t, err)
	assert.Len(t, ha, 64)
	assert.NotContains(t, ha, a)
}

func TestCheckShapeRefusesMalformedTokens(t *testing.T) {
	tests := []struct{ give, want string }{
		{"", "does not start with"},
		{"Bearer pave_x", "does not start with"},
		{"pave_short", "wrong length"},
		{"pave_" + strings.Repeat("A", 40), "unexpected character"},
		{"pave_" + strings.Repeat("a", 200), "wrong length"},
	}
	for _, tt := range tests {
		err := domain.CheckShape(tt.give)
		require.ErrorIs(t, err, domain.ErrMalformedToken, tt.give)
		assert.Contains(t, err.Error(), tt.want, tt.give)
	}
}

func TestTokenActive(t *testing.T) {
	now := time.Now()
	tests := []struct {
		name string
		give domain.Token
		want bool
	}{
		{"no expiry", domain.Token{}, true},
		{"expires later", domain.Token{ExpiresAt: now.Add(time.Minute)}, true},
		{"expired", domain.Token{ExpiresAt: now.Add(-time.Minute)}, false},
		{"revoked", domain.Token{RevokedAt: now.Add(-time.Minute)}, false},
	}
	for _, tt := range tests {
		assert.Equal(t, tt.want, tt.give.Active(now), tt.name)
	}
}
