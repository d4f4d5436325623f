package portal

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"
)

// Cookie names. With Secure, the __Host- prefix also pins the cookie to
// this host and path / (no Domain attribute can widen it).
const (
	sessionCookie       = "pave_session"
	secureSessionCookie = "__Host-pave_session"
	// signinCookie carries the sign-in form's CSRF value (double submit):
	// there is no session yet to hold it.
	signinCookie = "pave_signin"
	// csrfField is the hidden form field, csrfHeader the htmx header.
	csrfField  = "csrf"
	csrfHeader = "X-CSRF-Token"
)

// session is what the encrypted cookie holds: the API token the user
// signed in with, the session's CSRF value and its end.
type session struct {
	Token   string    `json:"t"`
	CSRF    string    `json:"c"`
	Expires time.Time `json:"e"`
}

// sealer encrypts and authenticates cookie values (AES-256-GCM): the
// browser holds the session, but can neither read the token in it nor
// forge one.
type sealer struct{ aead cipher.AEAD }

func newSealer(key []byte) (sealer, error) {
	block, err := aes.NewCipher(key)
	if err != nil {
		return sealer{}, fmt.Errorf("session key: %w", err)
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		return sealer{}, fmt.Errorf("session key: %w", err)
	}
	return sealer{aead}, nil
}

// seal binds the value to its cookie name (additional data), so a value
// cannot be moved from one cookie to another.
func (s sealer) seal(name string, v any) (string, error) {
	plain, err := json.Marshal(v)
	if err != nil {
		return "", err
	}
	nonce := make([]byte, s.aead.NonceSize())
	if _, err := rand.Read(nonce); err != nil {
		return "", err
	}
	return base64.RawURLEncoding.EncodeToString(s.aead.Seal(nonce, nonce, plain, []byte(name))), nil
}

var errBadCookie = errors.New("cookie not valid")

func (s sealer) open(name, value string, v any) error {
	raw, err := base64.RawURLEncoding.DecodeString(value)
	if err != nil || len(raw) < s.aead.NonceSize() {
		return errBadCookie
	}
	nonce, box := raw[:s.aead.NonceSize()], raw[s.aead.NonceSize():]
	plain, err := s.aead.Open(nil, nonce, box, []byte(name))
	if err != nil {
		return errBadCookie
	}
	return json.Unmarshal(plain, v)
}

// randomToken is 32 random bytes, URL-safe.
func randomToken() string {
	b := make([]byte, 32)
	_, _ = rand.Read(b) // crypto/rand.Read never fails (Go 1.24+)
	return base64.RawURLEncoding.EncodeToString(b)
}

// sameToken compares two CSRF values in constant time.
func sameToken(a, b string) bool {
	return a != "" && subtle.ConstantTimeCompare([]byte(a), []byte(b)) == 1
}

// secure says whether cookies must be Secure for this request: always
// when configured, otherwise when the request came over TLS (directly or
// through a proxy that says so).
func (p *Portal) secure(r *http.Request) bool {
	return p.cfg.CookieSecure == "always" || r.TLS != nil ||
		strings.EqualFold(r.Header.Get("X-Forwarded-Proto"), "https")
}

func (p *Portal) cookieName(r *http.Request) string {
	if p.secure(r) {
		return secureSessionCookie
	}
	return sessionCookie
}

// current is the request's session, if it has a valid one.
func (p *Portal) current(r *http.Request) (session, bool) {
	c, err := r.Cookie(p.cookieName(r))
	if err != nil {
		return session{}, false
	}
	var s session
	if p.seal.open(sessionCookie, c.Value, &s) != nil || s.Token == "" || !time.Now().Before(s.Expires) {
		return session{}, false
	}
	return s, true
}

func (p *Portal) setCookie(w http.ResponseWriter, r *http.Request, name, value string, maxAge time.Duration) {
	http.SetCookie(w, &http.Cookie{
		Name: name, Value: value, Path: "/", MaxAge: int(maxAge.Seconds()),
		HttpOnly: true, SameSite: http.SameSiteStrictMode, Secure: p.secure(r),
	})
}

// startSession sets the session cookie for token.
func (p *Portal) startSession(w http.ResponseWriter, r *http.Request, token string) error {
	return p.startSessionUntil(w, r, token, time.Time{})
}

// startSessionUntil is startSession for a token that ends at until (zero:
// no end of its own): the session ends with it, or after SessionTTL.
func (p *Portal) startSessionUntil(w http.ResponseWriter, r *http.Request, token string, until time.Time) error {
	ttl := p.cfg.SessionTTL
	if !until.IsZero() && time.Until(until) < ttl {
		ttl = time.Until(until)
	}
	s := session{Token: token, CSRF: randomToken(), Expires: time.Now().Add(ttl)}
	v, err := p.seal.seal(sessionCookie, s)
	if err != nil {
		return err
	}
	p.setCookie(w, r, p.cookieName(r), v, ttl)
	return nil
}

func (p *Portal) endSession(w http.ResponseWriter, r *http.Request) {
	p.setCookie(w, r, p.cookieName(r), "", -time.Second)
}

// sameOrigin refuses a state change a browser says came from another
// site (defence in depth next to the CSRF value and SameSite=Strict).
func sameOrigin(r *http.Request) bool {
	switch r.Header.Get("Sec-Fetch-Site") {
	case "", "same-origin", "none":
	default:
		return false
	}
	if o := r.Header.Get("Origin"); o != "" && o != "null" {
		host := strings.TrimPrefix(strings.TrimPrefix(o, "https://"), "http://")
		return host == r.Host
	}
	return true
}

// checkCSRF accepts a state change only with the session's CSRF value in
// the form field or the htmx header, from this origin.
func checkCSRF(r *http.Request, s session) bool {
	got := r.Header.Get(csrfHeader)
	if got == "" {
		got = r.PostFormValue(csrfField)
	}
	return sameOrigin(r) && sameToken(got, s.CSRF)
}
