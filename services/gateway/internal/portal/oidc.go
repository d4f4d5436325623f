package portal

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/pave-platform/pave/pkg/config"
)

// OIDCConfig turns on "Sign in with your identity provider": the OpenID
// Connect authorization code flow with PKCE. The ID token it gets is the
// session's bearer token, so the access service must accept JWTs of the
// same issuer with the client id as audience (PAVE_OIDC_ISSUER,
// PAVE_OIDC_AUDIENCE).
type OIDCConfig struct {
	// Issuer is the provider's issuer URL; empty turns the flow off.
	Issuer string `env:"PAVE_PORTAL_OIDC_ISSUER"`
	// ClientID is the portal's client at the provider.
	ClientID string `env:"PAVE_PORTAL_OIDC_CLIENT_ID"`
	// ClientSecretFile holds the client's secret (never an environment
	// variable's value: it would show in process listings).
	ClientSecretFile string `env:"PAVE_PORTAL_OIDC_CLIENT_SECRET_FILE"`
	// RedirectURL is the callback the provider sends the browser back to;
	// empty derives it from the request (scheme and host + /auth/oidc/callback).
	RedirectURL string `env:"PAVE_PORTAL_OIDC_REDIRECT_URL"`
	// Scopes asked for besides openid.
	Scopes string `env:"PAVE_PORTAL_OIDC_SCOPES" envDefault:"profile email groups"`
}

// Enabled reports whether the flow is configured.
func (c OIDCConfig) Enabled() bool { return c.Issuer != "" }

// Validate names the variable that is missing or wrong.
func (c OIDCConfig) Validate() error {
	if !c.Enabled() {
		return nil
	}
	if u, err := url.Parse(c.Issuer); err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		return config.Invalid("PAVE_PORTAL_OIDC_ISSUER", "must be the provider's issuer URL")
	}
	if c.ClientID == "" {
		return config.Invalid("PAVE_PORTAL_OIDC_CLIENT_ID", "is required with PAVE_PORTAL_OIDC_ISSUER")
	}
	if c.RedirectURL != "" {
		if u, err := url.Parse(c.RedirectURL); err != nil || u.Host == "" {
			return config.Invalid("PAVE_PORTAL_OIDC_REDIRECT_URL", "must be an absolute URL ending in /auth/oidc/callback")
		}
	}
	return nil
}

// oidcCookie carries one sign-in's state, nonce and PKCE verifier from
// the redirect to the provider until the browser comes back.
const oidcCookie = "pave_oidc"

type oidcFlow struct {
	State    string    `json:"s"`
	Nonce    string    `json:"n"`
	Verifier string    `json:"v"`
	Redirect string    `json:"r"`
	Expires  time.Time `json:"e"`
}

// oidcFlowTTL bounds how long a sign-in at the provider may take.
const oidcFlowTTL = 10 * time.Minute

// provider is the issuer's discovery document (what the flow uses of it).
type provider struct {
	Issuer   string `json:"issuer"`
	AuthURL  string `json:"authorization_endpoint"`
	TokenURL string `json:"token_endpoint"`
}

type oidcClient struct {
	cfg    OIDCConfig
	secret string
	http   *http.Client

	mu   sync.Mutex
	disc *provider
}

func newOIDCClient(cfg OIDCConfig) (*oidcClient, error) {
	if !cfg.Enabled() {
		return nil, nil
	}
	c := &oidcClient{cfg: cfg, http: &http.Client{Timeout: 10 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}}
	if cfg.ClientSecretFile != "" {
		raw, err := os.ReadFile(cfg.ClientSecretFile)
		if err != nil {
			return nil, config.Invalid("PAVE_PORTAL_OIDC_CLIENT_SECRET_FILE", err.Error())
		}
		c.secret = strings.TrimSpace(string(raw))
	}
	return c, nil
}

// discover reads the issuer's configuration once (again after a failure).
func (c *oidcClient) discover(ctx context.Context) (*provider, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.disc != nil {
		return c.disc, nil
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, strings.TrimSuffix(c.cfg.Issuer, "/")+"/.well-known/openid-configuration", nil)
	if err != nil {
		return nil, err
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return nil, fmt.Errorf("read the provider's configuration: %w", err)
	}
	defer resp.Body.Close()
	var d provider
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("read the provider's configuration: %s", resp.Status)
	}
	if err := json.NewDecoder(io.LimitReader(resp.Body, 1<<20)).Decode(&d); err != nil {
		return nil, fmt.Errorf("decode the provider's configuration: %w", err)
	}
	if d.Issuer != c.cfg.Issuer || d.AuthURL == "" || d.TokenURL == "" {
		return nil, fmt.Errorf("the provider's configuration names issuer %q (want %q) and endpoints %q, %q", d.Issuer, c.cfg.Issuer, d.AuthURL, d.TokenURL)
	}
	c.disc = &d
	return c.disc, nil
}

func (c *oidcClient) redirectURL(r *http.Request, secure bool) string {
	if c.cfg.RedirectURL != "" {
		return c.cfg.RedirectURL
	}
	scheme := "http"
	if secure {
		scheme = "https"
	}
	return scheme + "://" + r.Host + "/auth/oidc/callback"
}

// exchange trades the code for the provider's ID token (back channel).
func (c *oidcClient) exchange(ctx context.Context, p *provider, code, verifier, redirect string) (string, error) {
	form := url.Values{"grant_type": {"authorization_code"}, "code": {code}, "redirect_uri": {redirect},
		"client_id": {c.cfg.ClientID}, "code_verifier": {verifier}}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, p.TokenURL, strings.NewReader(form.Encode()))
	if err != nil {
		return "", err
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	if c.secret != "" {
		req.SetBasicAuth(url.QueryEscape(c.cfg.ClientID), url.QueryEscape(c.secret))
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return "", fmt.Errorf("exchange the code: %w", err)
	}
	defer resp.Body.Close()
	var out struct {
		IDToken string `json:"id_token"`
		Error   string `json:"error"`
		Desc    string `json:"error_description"`
	}
	_ = json.NewDecoder(io.LimitReader(resp.Body, 1<<20)).Decode(&out)
	if resp.StatusCode != http.StatusOK || out.IDToken == "" {
		return "", fmt.Errorf("the provider refused the code: %s %s %s", resp.Status, out.Error, out.Desc)
	}
	return out.IDToken, nil
}

// idClaims are the claims the portal checks itself; the signature is the
// access service's to check when the token is used (and the token came
// straight from the token endpoint, OpenID Connect Core 3.1.3.7).
type idClaims struct {
	Issuer   string          `json:"iss"`
	Audience json.RawMessage `json:"aud"`
	Nonce    string          `json:"nonce"`
	Expiry   int64           `json:"exp"`
}

func (c *oidcClient) check(idToken, nonce string, now time.Time) (time.Time, error) {
	parts := strings.Split(idToken, ".")
	if len(parts) != 3 {
		return time.Time{}, errors.New("the ID token is not a JWT")
	}
	raw, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		return time.Time{}, errors.New("the ID token's claims do not decode")
	}
	var cl idClaims
	if err := json.Unmarshal(raw, &cl); err != nil {
		return time.Time{}, errors.New("the ID token's claims do not decode")
	}
	var aud []string
	if json.Unmarshal(cl.Audience, &aud) != nil {
		var one string
		_ = json.Unmarshal(cl.Audience, &one)
		aud = []string{one}
	}
	exp := time.Unix(cl.Expiry, 0)
	switch {
	case cl.Issuer != c.cfg.Issuer:
		return time.Time{}, fmt.Errorf("the ID token's issuer is %q", cl.Issuer)
	case !slices.Contains(aud, c.cfg.ClientID):
		return time.Time{}, errors.New("the ID token is not for this portal (audience)")
	case subtle.ConstantTimeCompare([]byte(cl.Nonce), []byte(nonce)) != 1:
		return time.Time{}, errors.New("the ID token's nonce is not this sign-in's")
	case !now.Before(exp):
		return time.Time{}, errors.New("the ID token has expired")
	}
	return exp, nil
}

// oidcLogin sends the browser to the provider.
func (p *Portal) oidcLogin(w http.ResponseWriter, r *http.Request) {
	if p.oidc == nil {
		p.showSignin(w, r, http.StatusNotFound, "Sign-in with an identity provider is not configured here (PAVE_PORTAL_OIDC_ISSUER).")
		return
	}
	prov, err := p.oidc.discover(r.Context())
	if err != nil {
		p.log.WarnContext(r.Context(), "oidc discovery", "error", err)
		p.showSignin(w, r, http.StatusBadGateway, "The identity provider did not answer; try again, or sign in with a token.")
		return
	}
	f := oidcFlow{State: randomToken(), Nonce: randomToken(), Verifier: randomToken(),
		Redirect: p.oidc.redirectURL(r, p.secure(r)), Expires: time.Now().Add(oidcFlowTTL)}
	v, err := p.seal.seal(oidcCookie, f)
	if err != nil {
		p.showSignin(w, r, http.StatusInternalServerError, "The sign-in could not be started; try again.")
		return
	}
	// Lax, not Strict: the cookie must come back on the provider's
	// top-level redirect to the callback.
	http.SetCookie(w, &http.Cookie{Name: oidcCookie, Value: v, Path: "/auth/oidc/", MaxAge: int(oidcFlowTTL.Seconds()),
		HttpOnly: true, SameSite: http.SameSiteLaxMode, Secure: p.secure(r)})
	sum := sha256.Sum256([]byte(f.Verifier))
	q := url.Values{"response_type": {"code"}, "client_id": {p.oidc.cfg.ClientID}, "redirect_uri": {f.Redirect},
		"scope": {strings.TrimSpace("openid " + p.oidc.cfg.Scopes)}, "state": {f.State}, "nonce": {f.Nonce},
		"code_challenge": {base64.RawURLEncoding.EncodeToString(sum[:])}, "code_challenge_method": {"S256"}}
	sep := "?"
	if strings.Contains(prov.AuthURL, "?") {
		sep = "&"
	}
	http.Redirect(w, r, prov.AuthURL+sep+q.Encode(), http.StatusFound)
}

// oidcCallback finishes the sign-in: the state must be this browser's,
// the code is exchanged for an ID token with this sign-in's nonce, and the
// API must accept the token (whoami) before a session starts.
func (p *Portal) oidcCallback(w http.ResponseWriter, r *http.Request) {
	if p.oidc == nil {
		p.showSignin(w, r, http.StatusNotFound, "Sign-in with an identity provider is not configured here (PAVE_PORTAL_OIDC_ISSUER).")
		return
	}
	http.SetCookie(w, &http.Cookie{Name: oidcCookie, Value: "", Path: "/auth/oidc/", MaxAge: -1,
		HttpOnly: true, SameSite: http.SameSiteLaxMode, Secure: p.secure(r)})
	var f oidcFlow
	c, err := r.Cookie(oidcCookie)
	if err != nil || p.seal.open(oidcCookie, c.Value, &f) != nil || !time.Now().Before(f.Expires) {
		p.showSignin(w, r, http.StatusForbidden, "This sign-in expired or was started in another browser; try again.")
		return
	}
	q := r.URL.Query()
	if e := q.Get("error"); e != "" {
		p.showSignin(w, r, http.StatusUnauthorized, "The identity provider refused the sign-in: "+e+" "+q.Get("error_description"))
		return
	}
	if !sameToken(q.Get("state"), f.State) {
		p.showSignin(w, r, http.StatusForbidden, "The sign-in's state does not match this browser's; try again.")
		return
	}
	prov, err := p.oidc.discover(r.Context())
	if err != nil {
		p.showSignin(w, r, http.StatusBadGateway, "The identity provider did not answer; try again.")
		return
	}
	idToken, err := p.oidc.exchange(r.Context(), prov, q.Get("code"), f.Verifier, f.Redirect)
	if err != nil {
		p.log.WarnContext(r.Context(), "oidc code exchange", "error", err)
		p.showSignin(w, r, http.StatusUnauthorized, "The identity provider did not give a token for this sign-in.")
		return
	}
	exp, err := p.oidc.check(idToken, f.Nonce, time.Now())
	if err != nil {
		p.showSignin(w, r, http.StatusUnauthorized, "The identity provider's token was refused: "+err.Error()+".")
		return
	}
	var me whoami
	if err := p.api.get(r.Context(), idToken, "/v1/whoami", nil, &me); err != nil {
		msg := "The API did not answer; try again."
		if pr, ok := err.(*Problem); ok {
			msg = "The API refused the identity provider's token: " + pr.Error()
		}
		p.showSignin(w, r, http.StatusUnauthorized, msg)
		return
	}
	if err := p.startSessionUntil(w, r, idToken, exp); err != nil {
		p.log.ErrorContext(r.Context(), "start session", "error", err)
		p.showSignin(w, r, http.StatusInternalServerError, "The session could not be started; try again.")
		return
	}
	http.Redirect(w, r, "/", http.StatusSeeOther)
}
