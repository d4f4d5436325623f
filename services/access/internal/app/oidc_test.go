package app_test

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"encoding/json"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/pave-platform/pave/pkg/authn"
	"github.com/pave-platform/pave/pkg/testkit"
	"github.com/pave-platform/pave/services/access/internal/app"
	"github.com/pave-platform/pave/services/access/internal/ports"
)

const issuer, audience = "https://idp.example.test", "pave"

func signer(t *testing.T, key *rsa.PrivateKey, kid string) jose.Signer {
	t.Helper()
	s, err := jose.NewSigner(jose.SigningKey{Algorithm: jose.RS256, Key: key},
		(&jose.SignerOptions{}).WithType("JWT").WithHeader("kid", kid))
	require.NoError(t, err)
	return s
}

func mint(t *testing.T, s jose.Signer, aud string, exp time.Time, groups []string) string {
	t.Helper()
	claims := jwt.Claims{Issuer: issuer, Subject: "olivia", Audience: jwt.Audience{aud},
		IssuedAt: jwt.NewNumericDate(time.Now().Add(-time.Minute)), Expiry: jwt.NewNumericDate(exp)}
	tok, err := jwt.Signed(s).Claims(claims).Claims(map[string]any{"groups": groups}).Serialize()
	require.NoError(t, err)
	return tok
}

// JWTs of the configured issuer authenticate, with teams from the groups
// claim; a bad signature, another audience or an expired token is refused
// with a reason the caller sees over the authenticate request/reply.
func TestOIDCTokensAreVerifiedAgainstTheIssuersKeys(t *testing.T) {
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	require.NoError(t, err)
	other, err := rsa.GenerateKey(rand.Reader, 2048)
	require.NoError(t, err)
	set := jose.JSONWebKeySet{Keys: []jose.JSONWebKey{{Key: &key.PublicKey, KeyID: "k1", Algorithm: "RS256", Use: "sig"}}}
	jwks := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		_ = json.NewEncoder(w).Encode(set)
	}))
	t.Cleanup(jwks.Close)

	ctx := context.Background()
	o, err := app.NewOIDC(ctx, app.OIDCConfig{Issuer: issuer, JWKSURL: jwks.URL, Audience: audience, TeamsClaim: "groups", UserClaim: "sub"})
	require.NoError(t, err)
	srv := testkit.NATS(t)
	nc := srv.Conn(t)
	svc, err := ports.ServeAuthn(nc, app.NewAuthenticate(newTokens(t), nil).WithOIDC(o), testLog())
	require.NoError(t, err)
	t.Cleanup(func() { _ = svc.Stop() })
	client := authn.NewClient(nc, 2*time.Second)

	good := mint(t, signer(t, key, "k1"), audience, time.Now().Add(time.Hour), []string{"payments:maintainer", "web", "platform-admin", "unrelated group"})
	p, err := client.Authenticate(ctx, good)
	require.NoError(t, err)
	assert.Equal(t, "olivia", p.ID)
	assert.Equal(t, map[string]string{"payments": "maintainer", "web": "viewer"}, p.TeamRoles)
	assert.Equal(t, []string{"payments", "web"}, p.Teams)
	assert.Equal(t, []string{"platform-admin"}, p.Roles)

	for name, tc := range map[string]struct{ token, reason string }{
		"bad signature":  {mint(t, signer(t, other, "k1"), audience, time.Now().Add(time.Hour), nil), "signature does not verify"},
		"wrong audience": {mint(t, signer(t, key, "k1"), "someone-else", time.Now().Add(time.Hour), nil), "audience is not pave"},
		"expired":        {mint(t, signer(t, key, "k1"), audience, time.Now().Add(-time.Hour), nil), "expired at"},
		"malformed":      {"eyJhbGciOi.not-a.jwt", "malformed"},
	} {
		_, err := client.Authenticate(ctx, tc.token)
		require.ErrorIs(t, err, authn.ErrUnauthenticated, name)
		assert.Contains(t, authn.ReasonOf(err), tc.reason, name)
	}
}

func TestOIDCNeedsAudienceAndOneKeySource(t *testing.T) {
	ctx := context.Background()
	_, err := app.NewOIDC(ctx, app.OIDCConfig{Issuer: issuer, JWKSFile: "/nonexistent"})
	assert.ErrorContains(t, err, "PAVE_OIDC_AUDIENCE")
	_, err = app.NewOIDC(ctx, app.OIDCConfig{Issuer: issuer, Audience: audience})
	assert.ErrorContains(t, err, "exactly one")
	_, err = app.NewOIDC(ctx, app.OIDCConfig{Issuer: issuer, Audience: audience, JWKSFile: "/nonexistent"})
	assert.ErrorContains(t, err, "read the OIDC key set")
	// Without OIDC a JWT is refused with a reason.
	_, err = app.NewAuthenticate(newTokens(t), nil).Handle(ctx, "eyJhbGciOiJSUzI1NiJ9.e30.sig")
	assert.Contains(t, authn.ReasonOf(err), "no OIDC issuer is configured")
}

func testLog() *slog.Logger { return slog.New(slog.DiscardHandler) }
