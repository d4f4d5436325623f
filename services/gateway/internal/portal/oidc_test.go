package portal_test

import (
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"math/big"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// fakeIdP stands in for an OpenID Connect provider (Okta, Entra ID,
// Keycloak: none runs here). It serves discovery, a JWKS, an authorize
// endpoint that consents at once and sends the browser back with a code,
// and a token endpoint that checks the client's secret and PKCE verifier
// and answers an RS256 ID token carrying the nonce it was given.
type fakeIdP struct {
	t      *testing.T
	srv    *httptest.Server
	key    *rsa.PrivateKey
	client string
	secret string
	user   string
	groups []string

	mu    sync.Mutex
	codes map[string]pending
}

type pending struct{ nonce, challenge, redirect string }

func newFakeIdP(t *testing.T, client, secret, user string, groups ...string) *fakeIdP {
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	require.NoError(t, err)
	f := &fakeIdP{t: t, key: key, client: client, secret: secret, user: user, groups: groups, codes: map[string]pending{}}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /.well-known/openid-configuration", func(w http.ResponseWriter, _ *http.Request) {
		_ = json.NewEncoder(w).Encode(map[string]string{"issuer": f.srv.URL, "authorization_endpoint": f.srv.URL + "/authorize",
			"token_endpoint": f.srv.URL + "/token", "jwks_uri": f.srv.URL + "/jwks"})
	})
	mux.HandleFunc("GET /jwks", func(w http.ResponseWriter, _ *http.Request) {
		e := big.NewInt(int64(key.E)).Bytes()
		_ = json.NewEncoder(w).Encode(map[string]any{"keys": []map[string]string{{"kty": "RSA", "kid": "k1", "alg": "RS256", "use": "sig",
			"n": base64.RawURLEncoding.EncodeToString(key.N.Bytes()), "e": base64.RawURLEncoding.EncodeToString(e)}}})
	})
	mux.HandleFunc("GET /authorize", func(w http.ResponseWriter, r *http.Request) {
		q := r.URL.Query()
		if q.Get("client_id") != f.client || q.Get("response_type") != "code" || q.Get("code_challenge_method") != "S256" ||
			!strings.Contains(q.Get("scope"), "openid") {
			http.Error(w, "bad authorization request", http.StatusBadRequest)
			return
		}
		code := base64.RawURLEncoding.EncodeToString(big.NewInt(time.Now().UnixNano()).Bytes())
		f.mu.Lock()
		f.codes[code] = pending{nonce: q.Get("nonce"), challenge: q.Get("code_challenge"), redirect: q.Get("redirect_uri")}
		f.mu.Unlock()
		http.Redirect(w, r, q.Get("redirect_uri")+"?"+url.Values{"code": {code}, "state": {q.Get("state")}}.Encode(), http.StatusFound)
	})
	mux.HandleFunc("POST /token", func(w http.ResponseWriter, r *http.Request) {
		id, secret, ok := r.BasicAuth()
		f.mu.Lock()
		p, known := f.codes[r.PostFormValue("code")]
		delete(f.codes, r.PostFormValue("code"))
		f.mu.Unlock()
		sum := sha256.Sum256([]byte(r.PostFormValue("code_verifier")))
		switch {
		case !ok || id != f.client || secret != f.secret:
			http.Error(w, `{"error":"invalid_client"}`, http.StatusUnauthorized)
			return
		case !known || p.redirect != r.PostFormValue("redirect_uri") || base64.RawURLEncoding.EncodeToString(sum[:]) != p.challenge:
			http.Error(w, `{"error":"invalid_grant"}`, http.StatusBadRequest)
			return
		}
		_ = json.NewEncoder(w).Encode(map[string]string{"token_type": "Bearer", "id_token": f.idToken(p.nonce)})
	})
	f.srv = httptest.NewServer(mux)
	t.Cleanup(f.srv.Close)
	return f
}

func (f *fakeIdP) idToken(nonce string) string {
	head, _ := json.Marshal(map[string]string{"alg": "RS256", "typ": "JWT", "kid": "k1"})
	now := time.Now()
	body, _ := json.Marshal(map[string]any{"iss": f.srv.URL, "sub": f.user, "aud": f.client, "nonce": nonce,
		"iat": now.Add(-time.Minute).Unix(), "exp": now.Add(time.Hour).Unix(), "groups": f.groups})
	signing := base64.RawURLEncoding.EncodeToString(head) + "." + base64.RawURLEncoding.EncodeToString(body)
	sum := sha256.Sum256([]byte(signing))
	sig, err := rsa.SignPKCS1v15(rand.Reader, f.key, crypto.SHA256, sum[:])
	require.NoError(f.t, err)
	return signing + "." + base64.RawURLEncoding.EncodeToString(sig)
}

// Sign-in with an identity provider: the browser goes to the provider and
// back, the portal exchanges the code (client secret, PKCE) for an ID
// token with this sign-in's nonce, the API accepts it (the access service
// verifies it against the provider's keys) and the session is olivia's,
// a member of apps by her groups. A callback whose state is not this
// browser's, or without the flow's cookie, starts no session.
func TestPortalSignsInWithAnIdentityProvider(t *testing.T) {
	secretFile := filepath.Join(t.TempDir(), "client-secret")
	require.NoError(t, os.WriteFile(secretFile, []byte("s3cret\n"), 0o600))
	idp := newFakeIdP(t, "pave-portal", "s3cret", "olivia", "apps:developer")
	for k, v := range map[string]string{
		"PAVE_OIDC_ISSUER": idp.srv.URL, "PAVE_OIDC_JWKS_URL": idp.srv.URL + "/jwks", "PAVE_OIDC_AUDIENCE": "pave-portal",
		"PAVE_PORTAL_OIDC_ISSUER": idp.srv.URL, "PAVE_PORTAL_OIDC_CLIENT_ID": "pave-portal",
		"PAVE_PORTAL_OIDC_CLIENT_SECRET_FILE": secretFile,
	} {
		t.Setenv(k, v)
	}
	browser := newBrowser(t)
	p := startPlatform(t)
	p.team("apps")

	b := newTab(t, browser)
	b.do("open the sign-in page", chromedp.Navigate(p.base+"/signin"), chromedp.WaitVisible(chromedp.CSS("#oidc-signin")))
	b.do("sign in with the provider", chromedp.Click(chromedp.CSS("#oidc-signin")))
	b.waitFor("home, signed in as olivia", `location.pathname === "/" && document.body.innerText.includes("Welcome, olivia")`)
	assert.Contains(t, b.text("body"), "apps", "her team from the provider's groups")

	// Without the browser's flow cookie, or with another state, nothing starts.
	jar, err := cookiejar.New(nil)
	require.NoError(t, err)
	c := &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := c.Get(p.base + "/auth/oidc/callback?code=x&state=y")
	require.NoError(t, err)
	resp.Body.Close()
	assert.Equal(t, http.StatusForbidden, resp.StatusCode, "a callback this browser never started")

	resp, err = c.Get(p.base + "/auth/oidc/login")
	require.NoError(t, err)
	resp.Body.Close()
	require.Equal(t, http.StatusFound, resp.StatusCode)
	loc, err := url.Parse(resp.Header.Get("Location"))
	require.NoError(t, err)
	assert.Equal(t, "S256", loc.Query().Get("code_challenge_method"))
	resp, err = c.Get(loc.String()) // the provider sends the browser back
	require.NoError(t, err)
	resp.Body.Close()
	back, err := url.Parse(resp.Header.Get("Location"))
	require.NoError(t, err)
	q := back.Query()
	q.Set("state", "forged")
	back.RawQuery = q.Encode()
	resp, err = c.Get(back.String())
	require.NoError(t, err)
	resp.Body.Close()
	assert.Equal(t, http.StatusForbidden, resp.StatusCode, "a state that is not this sign-in's")
	for _, ck := range jar.Cookies(mustURL(t, p.base+"/")) {
		assert.NotEqual(t, "pave_session", ck.Name, "no session started")
	}
}

func mustURL(t *testing.T, s string) *url.URL {
	u, err := url.Parse(s)
	require.NoError(t, err)
	return u
}
