package portal

import (
	"crypto/rand"
	"embed"
	"encoding/base64"
	"fmt"
	"io/fs"
	"log/slog"
	"net/http"
	"time"

	"github.com/pave-platform/pave/pkg/config"
)

//go:embed templates/*.html
var templateFS embed.FS

//go:embed static
var staticFS embed.FS

// Config of the portal.
type Config struct {
	// SessionKey encrypts the session cookies: 32 bytes, base64. Empty
	// draws one at start (sessions then end with the process, and each
	// gateway replica has its own: set it where there are several).
	SessionKey string `env:"PAVE_PORTAL_SESSION_KEY"`
	// SessionTTL is how long a sign-in lasts (the token's own expiry
	// still applies: the API refuses an expired token).
	SessionTTL time.Duration `env:"PAVE_PORTAL_SESSION_TTL" envDefault:"8h"`
	// CookieSecure is auto (Secure when the request came over TLS or
	// X-Forwarded-Proto says https) or always.
	CookieSecure string `env:"PAVE_PORTAL_COOKIE_SECURE" envDefault:"auto"`
	// OIDC is the optional sign-in with an identity provider.
	OIDC OIDCConfig
}

// Validate names the variable that is out of range.
func (c Config) Validate() error {
	if c.SessionKey != "" {
		if k, err := base64.StdEncoding.DecodeString(c.SessionKey); err != nil || len(k) != 32 {
			return config.Invalid("PAVE_PORTAL_SESSION_KEY", "must be 32 bytes, base64 (openssl rand -base64 32)")
		}
	}
	if c.SessionTTL < time.Minute || c.SessionTTL > 7*24*time.Hour {
		return config.Invalid("PAVE_PORTAL_SESSION_TTL", "must be between 1m and 168h")
	}
	if c.CookieSecure != "auto" && c.CookieSecure != "always" {
		return config.Invalid("PAVE_PORTAL_COOKIE_SECURE", "must be auto or always")
	}
	return c.OIDC.Validate()
}

// Portal is the web portal: server-rendered pages over the /v1 API.
type Portal struct {
	cfg   Config
	api   API
	seal  sealer
	pages pages
	oidc  *oidcClient // nil: no identity provider sign-in
	log   *slog.Logger
}

// New builds the portal over the gateway's own API handler.
func New(cfg Config, api API, log *slog.Logger) (*Portal, error) {
	key := make([]byte, 32)
	if cfg.SessionKey != "" {
		var err error
		if key, err = base64.StdEncoding.DecodeString(cfg.SessionKey); err != nil {
			return nil, fmt.Errorf("PAVE_PORTAL_SESSION_KEY: %w", err)
		}
	} else {
		_, _ = rand.Read(key)
	}
	if cfg.SessionTTL == 0 {
		cfg.SessionTTL = 8 * time.Hour
	}
	s, err := newSealer(key)
	if err != nil {
		return nil, err
	}
	pg, err := parsePages()
	if err != nil {
		return nil, err
	}
	oc, err := newOIDCClient(cfg.OIDC)
	if err != nil {
		return nil, err
	}
	return &Portal{cfg: cfg, api: api, seal: s, pages: pg, oidc: oc, log: log}, nil
}

// Handler serves the portal's pages and assets.
func (p *Portal) Handler() http.Handler {
	mux := http.NewServeMux()
	static, _ := fs.Sub(staticFS, "static")
	mux.Handle("GET /static/", http.StripPrefix("/static/", immutable(http.FileServerFS(static))))
	mux.HandleFunc("GET /signin", p.signinPage)
	mux.HandleFunc("POST /signin", p.signin)
	mux.HandleFunc("GET /auth/oidc/login", p.oidcLogin)
	mux.HandleFunc("GET /auth/oidc/callback", p.oidcCallback)
	mux.HandleFunc("POST /signout", p.signedIn(p.signout))
	mux.HandleFunc("GET /{$}", p.signedIn(p.home))
	mux.HandleFunc("GET /templates", p.signedIn(p.templates))
	mux.HandleFunc("GET /templates/{name}", p.signedIn(p.templateForm))
	mux.HandleFunc("POST /templates/{name}", p.signedIn(p.createEnvironment))
	mux.HandleFunc("POST /templates/{name}/estimate", p.signedIn(p.estimate))
	mux.HandleFunc("GET /environments", p.signedIn(p.environments))
	mux.HandleFunc("GET /environments/{id}", p.signedIn(p.environment))
	mux.HandleFunc("GET /environments/{id}/events", p.signedIn(p.events))
	mux.HandleFunc("POST /environments/{id}/credentials", p.signedIn(p.credentials))
	mux.HandleFunc("GET /environments/{id}/delete", p.signedIn(p.confirmDelete))
	mux.HandleFunc("POST /environments/{id}/delete", p.signedIn(p.deleteEnvironment))
	mux.HandleFunc("POST /environments/{id}/extend", p.signedIn(p.extend))
	mux.HandleFunc("POST /environments/{id}/parameters", p.signedIn(p.updateParameters))
	mux.HandleFunc("GET /environments/{id}/timeline", p.signedIn(p.timeline))
	mux.HandleFunc("GET /access", p.signedIn(p.access))
	mux.HandleFunc("POST /access/requests", p.signedIn(p.requestAccess))
	mux.HandleFunc("POST /access/requests/{id}/approve", p.signedIn(p.decideAccess("approve")))
	mux.HandleFunc("POST /access/requests/{id}/deny", p.signedIn(p.decideAccess("deny")))
	mux.HandleFunc("GET /workloads", p.signedIn(p.workloads))
	mux.HandleFunc("POST /workloads", p.signedIn(p.submitWorkload))
	mux.HandleFunc("POST /workloads/{id}/cancel", p.signedIn(p.cancelWorkload))
	mux.HandleFunc("GET /costs", p.signedIn(p.costs))
	mux.HandleFunc("GET /costs/export", p.signedIn(p.exportCosts))
	mux.HandleFunc("GET /audit", p.signedIn(p.audit))
	mux.HandleFunc("POST /access/break-glass", p.signedIn(p.breakGlass))
	mux.HandleFunc("POST /access/reviews/{id}/decisions", p.signedIn(p.decideReview))
	mux.HandleFunc("GET /promotions", p.signedIn(p.promotions))
	mux.HandleFunc("POST /promotions", p.signedIn(p.promote))
	mux.HandleFunc("POST /promotions/{id}/approve", p.signedIn(p.approvePromotion))
	p.adminRoutes(mux)
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		p.render(w, r, http.StatusNotFound, "error", page{Title: "Not found",
			Error: "There is no page at " + r.URL.Path + "."})
	})
	return secured(mux)
}

// csp allows only the portal's own files: no inline script or style, no
// eval (htmx's eval-based features are off in its meta config), no
// framing, forms only to the portal.
const csp = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; connect-src 'self'; " +
	"form-action 'self'; frame-ancestors 'none'; base-uri 'none'"

// secured sets the headers every answer carries.
func secured(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h.Set("Content-Security-Policy", csp)
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("X-Frame-Options", "DENY")
		h.Set("Referrer-Policy", "same-origin")
		h.Set("Cross-Origin-Opener-Policy", "same-origin")
		if h.Get("Cache-Control") == "" {
			h.Set("Cache-Control", "no-store")
		}
		next.ServeHTTP(w, r)
	})
}

// immutable lets browsers keep the embedded assets: their names carry
// their version.
func immutable(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "public, max-age=86400")
		next.ServeHTTP(w, r)
	})
}

// handler is a page handler with the signed-in session.
type handler func(w http.ResponseWriter, r *http.Request, s session)

// signedIn sends a visitor without a session to the sign-in page, and
// refuses a state change without the session's CSRF value.
func (p *Portal) signedIn(h handler) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		s, ok := p.current(r)
		if !ok {
			if r.Method != http.MethodGet {
				p.render(w, r, http.StatusUnauthorized, "error", page{Title: "Signed out",
					Error: "Your session has ended. Sign in again."})
				return
			}
			http.Redirect(w, r, "/signin", http.StatusSeeOther)
			return
		}
		if r.Method != http.MethodGet && !checkCSRF(r, s) {
			p.render(w, r, http.StatusForbidden, "error", page{Title: "Refused",
				Error: "The form was not sent from this portal's page (CSRF check failed). Reload the page and try again."})
			return
		}
		h(w, r, s)
	}
}

// fail shows an API error as a page; 401 ends the session.
func (p *Portal) fail(w http.ResponseWriter, r *http.Request, s session, err error) {
	status, msg := http.StatusBadGateway, "The API did not answer: "+err.Error()
	if pr, ok := err.(*Problem); ok {
		status, msg = pr.Status, pr.Error()
	} else {
		p.log.ErrorContext(r.Context(), "portal page", "path", r.URL.Path, "error", err)
	}
	if status == http.StatusUnauthorized {
		p.endSession(w, r)
		http.Redirect(w, r, "/signin", http.StatusSeeOther)
		return
	}
	p.render(w, r, status, "error", page{Title: http.StatusText(status), Error: firstLine(msg), CSRF: s.CSRF, SignedIn: true})
}
