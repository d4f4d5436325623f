package portal_test

import (
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// visitor is a browser without JavaScript: a cookie jar, no redirects
// followed, and headers the test sets.
type visitor struct {
	t      *testing.T
	base   string
	client *http.Client
	header http.Header
}

func newVisitor(t *testing.T, base string) *visitor {
	jar, err := cookiejar.New(nil)
	require.NoError(t, err)
	return &visitor{t: t, base: base, header: http.Header{}, client: &http.Client{Jar: jar,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}}
}

func (v *visitor) send(method, path string, form url.Values) (*http.Response, string) {
	v.t.Helper()
	var body io.Reader = http.NoBody
	if form != nil {
		body = strings.NewReader(form.Encode())
	}
	req, err := http.NewRequest(method, v.base+path, body)
	require.NoError(v.t, err)
	for k, vs := range v.header {
		req.Header[k] = vs
	}
	if form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	resp, err := v.client.Do(req)
	require.NoError(v.t, err)
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	require.NoError(v.t, err)
	return resp, string(raw)
}

var csrfValue = regexp.MustCompile(`name="csrf" value="([^"]+)"`)

func csrfOf(t *testing.T, html string) string {
	t.Helper()
	m := csrfValue.FindStringSubmatch(html)
	require.NotNil(t, m, "the page has a CSRF field")
	return m[1]
}

// signIn signs in with token and answers the session's CSRF value.
func (v *visitor) signIn(token string) string {
	v.t.Helper()
	_, page := v.send(http.MethodGet, "/signin", nil)
	resp, _ := v.send(http.MethodPost, "/signin", url.Values{"csrf": {csrfOf(v.t, page)}, "token": {token}})
	require.Equal(v.t, http.StatusSeeOther, resp.StatusCode)
	_, home := v.send(http.MethodGet, "/", nil)
	return csrfOf(v.t, home)
}

func cookie(resp *http.Response, name string) *http.Cookie {
	for _, c := range resp.Cookies() {
		if c.Name == name {
			return c
		}
	}
	return nil
}

// The portal's session, CSRF and content-security rules, as a browser
// without JavaScript (or an attacker's page) meets them.
func TestPortalSessionCSRFAndCSP(t *testing.T) {
	p := startPlatform(t)
	p.team("apps")
	alice := p.member("apps", "alice", "developer")

	t.Run("no session: sent to sign in; every answer has the CSP", func(t *testing.T) {
		v := newVisitor(t, p.base)
		for _, path := range []string{"/", "/templates", "/environments/env-x"} {
			resp, _ := v.send(http.MethodGet, path, nil)
			assert.Equal(t, http.StatusSeeOther, resp.StatusCode, path)
			assert.Equal(t, "/signin", resp.Header.Get("Location"), path)
		}
		resp, page := v.send(http.MethodGet, "/signin", nil)
		csp := resp.Header.Get("Content-Security-Policy")
		assert.Contains(t, csp, "script-src 'self'")
		assert.Contains(t, csp, "frame-ancestors 'none'")
		assert.NotContains(t, csp, "unsafe-inline")
		assert.NotContains(t, csp, "unsafe-eval")
		assert.Equal(t, "nosniff", resp.Header.Get("X-Content-Type-Options"))
		assert.NotRegexp(t, `<script(\s[^>]*)?>[^<]`, page, "no inline script")
		assert.Contains(t, page, `"allowEval":false`, "htmx's eval-based features are off")
	})

	t.Run("sign in needs the form's CSRF value and a valid token", func(t *testing.T) {
		v := newVisitor(t, p.base)
		resp, _ := v.send(http.MethodPost, "/signin", url.Values{"csrf": {"forged"}, "token": {alice}})
		assert.Equal(t, http.StatusForbidden, resp.StatusCode, "a sign-in posted from elsewhere (login CSRF)")
		assert.Nil(t, cookie(resp, "pave_session"))
		_, page := v.send(http.MethodGet, "/signin", nil)
		resp, body := v.send(http.MethodPost, "/signin", url.Values{"csrf": {csrfOf(t, page)}, "token": {"pave_wrong"}})
		assert.Equal(t, http.StatusUnauthorized, resp.StatusCode)
		assert.Contains(t, body, "The token was refused")
		assert.Nil(t, cookie(resp, "pave_session"))
	})

	t.Run("the session cookie: HttpOnly, SameSite=Strict, Secure behind TLS", func(t *testing.T) {
		v := newVisitor(t, p.base)
		_, page := v.send(http.MethodGet, "/signin", nil)
		resp, _ := v.send(http.MethodPost, "/signin", url.Values{"csrf": {csrfOf(t, page)}, "token": {alice}})
		c := cookie(resp, "pave_session")
		require.NotNil(t, c)
		assert.True(t, c.HttpOnly)
		assert.Equal(t, http.SameSiteStrictMode, c.SameSite)
		assert.False(t, c.Secure, "plain HTTP (make run)")
		assert.NotContains(t, c.Value, alice, "the token is sealed")

		tls := newVisitor(t, p.base)
		tls.header.Set("X-Forwarded-Proto", "https")
		_, page = tls.send(http.MethodGet, "/signin", nil)
		resp, _ = tls.send(http.MethodPost, "/signin", url.Values{"csrf": {csrfOf(t, page)}, "token": {alice}})
		c = cookie(resp, "__Host-pave_session")
		require.NotNil(t, c, "behind TLS the cookie has the __Host- prefix")
		assert.True(t, c.Secure)
		assert.True(t, c.HttpOnly)
		assert.Equal(t, http.SameSiteStrictMode, c.SameSite)
	})

	t.Run("a state change without the session's CSRF value changes nothing", func(t *testing.T) {
		v := newVisitor(t, p.base)
		csrf := v.signIn(alice)
		create := func(name, token string) url.Values {
			return url.Values{"csrf": {token}, "team": {"apps"}, "name": {name}, "stage": {"dev"}, "parameters.size": {"small"}}
		}
		resp, body := v.send(http.MethodPost, "/templates/redis-cache", create("no-token", ""))
		assert.Equal(t, http.StatusForbidden, resp.StatusCode)
		assert.Contains(t, body, "CSRF check failed")
		resp, _ = v.send(http.MethodPost, "/templates/redis-cache", create("wrong-token", csrf[:len(csrf)-1]+"x"))
		assert.Equal(t, http.StatusForbidden, resp.StatusCode)
		v.header.Set("Origin", "https://evil.example")
		resp, _ = v.send(http.MethodPost, "/templates/redis-cache", create("other-origin", csrf))
		assert.Equal(t, http.StatusForbidden, resp.StatusCode, "the right value from another origin")
		v.header.Del("Origin")
		v.header.Set("Sec-Fetch-Site", "cross-site")
		resp, _ = v.send(http.MethodPost, "/templates/redis-cache", create("cross-site", csrf))
		assert.Equal(t, http.StatusForbidden, resp.StatusCode, "the right value from another site")
		list := p.api(alice, http.StatusOK, http.MethodGet, "/v1/environments?team=apps", nil)
		assert.Empty(t, list["items"], "no environment was created")

		v.header.Del("Sec-Fetch-Site")
		resp, _ = v.send(http.MethodPost, "/templates/redis-cache", create("with-token", csrf))
		assert.Equal(t, http.StatusSeeOther, resp.StatusCode, "the portal's own form goes through")
		assert.True(t, strings.HasPrefix(resp.Header.Get("Location"), "/environments/env-"))
	})

	t.Run("a tampered cookie is no session; signing out ends it", func(t *testing.T) {
		v := newVisitor(t, p.base)
		csrf := v.signIn(alice)
		u, _ := url.Parse(p.base)
		c := v.client.Jar.Cookies(u)
		require.Len(t, c, 1)
		forged := *c[0]
		flip := byte('A')
		if forged.Value[20] == 'A' {
			flip = 'B'
		}
		forged.Value = forged.Value[:20] + string(flip) + forged.Value[21:]
		other := newVisitor(t, p.base)
		other.client.Jar.SetCookies(u, []*http.Cookie{&forged})
		resp, _ := other.send(http.MethodGet, "/", nil)
		assert.Equal(t, http.StatusSeeOther, resp.StatusCode)

		resp, _ = v.send(http.MethodPost, "/signout", url.Values{"csrf": {csrf}})
		assert.Equal(t, http.StatusSeeOther, resp.StatusCode)
		ended := cookie(resp, "pave_session")
		require.NotNil(t, ended)
		assert.Negative(t, ended.MaxAge, "the cookie is removed")
		resp, _ = v.send(http.MethodGet, "/", nil)
		assert.Equal(t, "/signin", resp.Header.Get("Location"))
	})

	t.Run("every page needs a session, every state change its CSRF value", func(t *testing.T) {
		anon := newVisitor(t, p.base)
		for _, path := range []string{"/workloads", "/costs", "/costs/export", "/promotions", "/audit", "/admin", "/access",
			"/environments/env-x/timeline"} {
			resp, _ := anon.send(http.MethodGet, path, nil)
			assert.Equal(t, http.StatusSeeOther, resp.StatusCode, path)
			assert.Equal(t, "/signin", resp.Header.Get("Location"), path)
		}
		v := newVisitor(t, p.base)
		v.signIn(alice)
		for path, form := range map[string]url.Values{
			"/workloads":                      {"team": {"apps"}, "pool": {"batch"}, "command": {"true"}, "cpu": {"100"}},
			"/workloads/wl-x/cancel":          {},
			"/access/break-glass":             {"incident_id": {"INC-1"}, "reason": {"x"}, "team": {"apps"}, "stage": {"dev"}},
			"/access/reviews/rev-x/decisions": {"item_id": {"x"}, "decision": {"keep"}},
			"/promotions":                     {"application": {"web"}, "to": {"dev"}},
			"/promotions/prm-x/approve":       {},
			"/environments/env-x/parameters":  {"parameters.size": {"large"}},
			"/admin/teams":                    {"name": {"sneaky"}},
			"/admin/members":                  {"team": {"apps"}, "user": {"eve"}, "role": {"admin"}},
			"/admin/budgets":                  {"team": {"apps"}, "amount": {"1"}},
			"/admin/quotas":                   {"team": {"apps"}, "pool": {"batch"}, "nominal": {"cpu=1"}},
			"/admin/pools":                    {"pool": {"batch"}, "capacity": {"cpu=1"}},
		} {
			resp, body := v.send(http.MethodPost, path, form)
			assert.Equal(t, http.StatusForbidden, resp.StatusCode, path)
			assert.Contains(t, body, "CSRF check failed", path)
		}
		wl := p.api(alice, http.StatusOK, http.MethodGet, "/v1/workloads?team=apps", nil)
		for _, it := range wl["items"].([]any) {
			assert.NotEqual(t, "job", it.(map[string]any)["kind"], "no job was submitted")
		}
		gl := p.api(alice, http.StatusOK, http.MethodGet, "/v1/grants", nil)
		assert.Empty(t, gl["items"], "no glass was broken")
	})
}
