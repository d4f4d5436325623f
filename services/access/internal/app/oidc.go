package app

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"

	"github.com/pave-platform/pave/pkg/authn"
	"github.com/pave-platform/pave/services/access/internal/domain"
)

// OIDCConfig turns on JWT bearer tokens from an OpenID Connect issuer.
// With Issuer empty, only Pave's own tokens are accepted.
type OIDCConfig struct {
	// Issuer is the exact "iss" every token must carry.
	Issuer string `env:"PAVE_OIDC_ISSUER"`
	// JWKSURL or JWKSFile hold the issuer's public keys (a JWK set).
	JWKSURL  string `env:"PAVE_OIDC_JWKS_URL"`
	JWKSFile string `env:"PAVE_OIDC_JWKS_FILE"`
	// Audience must be one of the token's "aud".
	Audience string `env:"PAVE_OIDC_AUDIENCE"`
	// TeamsClaim is a string list claim: "TEAM:ROLE" gives that team role,
	// "TEAM" viewer; "platform-admin" and "auditor" give platform roles.
	TeamsClaim string `env:"PAVE_OIDC_TEAMS_CLAIM" envDefault:"groups"`
	// UserClaim names the user (its value must be a Pave user id).
	UserClaim string `env:"PAVE_OIDC_USER_CLAIM" envDefault:"sub"`
}

// Enabled reports whether OIDC is configured.
func (c OIDCConfig) Enabled() bool { return c.Issuer != "" }

// oidcAlgorithms are the signature algorithms accepted (asymmetric only).
var oidcAlgorithms = []jose.SignatureAlgorithm{jose.RS256, jose.RS384, jose.RS512, jose.PS256, jose.PS384, jose.PS512,
	jose.ES256, jose.ES384, jose.ES512, jose.EdDSA}

// oidcLeeway is the clock skew tolerated on exp, nbf and iat.
const oidcLeeway = 30 * time.Second

// OIDC verifies JWTs against the issuer's key set.
type OIDC struct {
	cfg    OIDCConfig
	client *http.Client
	now    func() time.Time

	mu        sync.RWMutex
	keys      jose.JSONWebKeySet
	fetchedAt time.Time
}

// NewOIDC checks the configuration and loads the key set once.
func NewOIDC(ctx context.Context, cfg OIDCConfig) (*OIDC, error) {
	switch {
	case cfg.Audience == "":
		return nil, errors.New("PAVE_OIDC_AUDIENCE is required with PAVE_OIDC_ISSUER")
	case (cfg.JWKSURL == "") == (cfg.JWKSFile == ""):
		return nil, errors.New("set exactly one of PAVE_OIDC_JWKS_URL and PAVE_OIDC_JWKS_FILE with PAVE_OIDC_ISSUER")
	}
	o := &OIDC{cfg: cfg, client: &http.Client{Timeout: 5 * time.Second}, now: time.Now}
	if err := o.load(ctx); err != nil {
		return nil, err
	}
	return o, nil
}

func (o *OIDC) load(ctx context.Context) error {
	var raw []byte
	var err error
	if o.cfg.JWKSFile != "" {
		if raw, err = os.ReadFile(o.cfg.JWKSFile); err != nil {
			return fmt.Errorf("read the OIDC key set: %w", err)
		}
	} else {
		req, rerr := http.NewRequestWithContext(ctx, http.MethodGet, o.cfg.JWKSURL, nil)
		if rerr != nil {
			return fmt.Errorf("fetch the OIDC key set: %w", rerr)
		}
		resp, rerr := o.client.Do(req)
		if rerr != nil {
			return fmt.Errorf("fetch the OIDC key set: %w", rerr)
		}
		defer resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			return fmt.Errorf("fetch the OIDC key set: %s answered %s", o.cfg.JWKSURL, resp.Status)
		}
		if raw, err = io.ReadAll(io.LimitReader(resp.Body, 1<<20)); err != nil {
			return fmt.Errorf("fetch the OIDC key set: %w", err)
		}
	}
	var set jose.JSONWebKeySet
	if err := json.Unmarshal(raw, &set); err != nil {
		return fmt.Errorf("decode the OIDC key set: %w", err)
	}
	if len(set.Keys) == 0 {
		return errors.New("the OIDC key set holds no keys")
	}
	o.mu.Lock()
	o.keys, o.fetchedAt = set, o.now()
	o.mu.Unlock()
	return nil
}

// LooksLikeJWT tells a compact JWS from Pave's own tokens.
func LooksLikeJWT(s string) bool {
	return strings.HasPrefix(s, "eyJ") && strings.Count(s, ".") == 2
}

func refused(reason string) error { return &authn.UnauthenticatedError{Reason: reason} }

// Verify checks signature, issuer, audience and lifetime, and returns the
// user and the team roles and platform roles the teams claim gives.
func (o *OIDC) Verify(ctx context.Context, token string) (user string, teams map[string]string, roles []string, err error) {
	tok, err := jwt.ParseSigned(token, oidcAlgorithms)
	if err != nil {
		return "", nil, nil, refused("the JWT is malformed or uses an algorithm that is not accepted")
	}
	var std jwt.Claims
	var all map[string]any
	o.mu.RLock()
	keys := o.keys
	o.mu.RUnlock()
	if err := tok.Claims(keys, &std, &all); err != nil {
		// An unknown key id may be a rotation: fetch the set again (at
		// most once a minute) and retry.
		if o.cfg.JWKSURL != "" && o.now().Sub(o.fetchedAtTime()) > time.Minute && o.load(ctx) == nil {
			o.mu.RLock()
			keys = o.keys
			o.mu.RUnlock()
			err = tok.Claims(keys, &std, &all)
		}
		if err != nil {
			return "", nil, nil, refused("the JWT signature does not verify against the issuer's keys")
		}
	}
	err = std.ValidateWithLeeway(jwt.Expected{Issuer: o.cfg.Issuer, AnyAudience: jwt.Audience{o.cfg.Audience}, Time: o.now()}, oidcLeeway)
	switch {
	case errors.Is(err, jwt.ErrExpired):
		return "", nil, nil, refused("the JWT expired at " + std.Expiry.Time().UTC().Format(time.RFC3339))
	case errors.Is(err, jwt.ErrInvalidAudience):
		return "", nil, nil, refused("the JWT's audience is not " + o.cfg.Audience)
	case errors.Is(err, jwt.ErrInvalidIssuer):
		return "", nil, nil, refused("the JWT's issuer is not " + o.cfg.Issuer)
	case errors.Is(err, jwt.ErrNotValidYet), errors.Is(err, jwt.ErrIssuedInTheFuture):
		return "", nil, nil, refused("the JWT is not valid yet")
	case err != nil:
		return "", nil, nil, refused("the JWT's claims are not valid: " + err.Error())
	}
	if std.Expiry == nil {
		return "", nil, nil, refused("the JWT has no expiry (exp)")
	}
	user, _ = all[o.cfg.UserClaim].(string)
	if domain.CheckUser("sub", user) != nil {
		return "", nil, nil, refused("the JWT's " + o.cfg.UserClaim + " claim is not a user id")
	}
	teams = map[string]string{}
	list, _ := all[o.cfg.TeamsClaim].([]any)
	for _, v := range list {
		g, _ := v.(string)
		switch {
		case g == authn.RolePlatformAdmin || g == authn.RoleAuditor:
			if !slices.Contains(roles, g) {
				roles = append(roles, g)
			}
			continue
		case g == "":
			continue
		}
		team, role, ok := strings.Cut(g, ":")
		if !ok {
			role = "viewer"
		}
		if domain.CheckName("team", team) != nil || !slices.Contains(domain.TeamRoles, role) {
			continue // a group that is not about Pave
		}
		if rank(role) > rank(teams[team]) {
			teams[team] = role
		}
	}
	sort.Strings(roles)
	return user, teams, roles, nil
}

func (o *OIDC) fetchedAtTime() time.Time {
	o.mu.RLock()
	defer o.mu.RUnlock()
	return o.fetchedAt
}

func rank(role string) int { return slices.Index(domain.TeamRoles, role) + 1 }
