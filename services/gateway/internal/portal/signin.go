package portal

import (
	"net/http"
	"strings"
	"time"
)

// whoami is GET /v1/whoami.
type whoami struct {
	ID        string            `json:"id"`
	Kind      string            `json:"kind"`
	Name      string            `json:"name"`
	Roles     []string          `json:"roles"`
	Teams     []string          `json:"teams"`
	TeamRoles map[string]string `json:"team_roles"`
}

func (p *Portal) signinPage(w http.ResponseWriter, r *http.Request) {
	if _, ok := p.current(r); ok {
		http.Redirect(w, r, "/", http.StatusSeeOther)
		return
	}
	p.showSignin(w, r, http.StatusOK, "")
}

// showSignin renders the form with a fresh double-submit CSRF value.
func (p *Portal) showSignin(w http.ResponseWriter, r *http.Request, status int, problem string) {
	v := randomToken()
	p.setCookie(w, r, signinCookie, v, 30*time.Minute)
	p.render(w, r, status, "signin", page{Title: "Sign in", CSRF: v, Error: problem, Data: map[string]any{"OIDC": p.oidc != nil}})
}

// signin checks the token against the API (whoami) and starts a session.
func (p *Portal) signin(w http.ResponseWriter, r *http.Request) {
	c, err := r.Cookie(signinCookie)
	if err != nil || !sameOrigin(r) || !sameToken(r.PostFormValue(csrfField), c.Value) {
		p.showSignin(w, r, http.StatusForbidden, "The sign-in form expired or came from another site; try again.")
		return
	}
	token := strings.TrimSpace(r.PostFormValue("token"))
	if token == "" {
		p.showSignin(w, r, http.StatusUnprocessableEntity, "Enter your API token.")
		return
	}
	var me whoami
	if err := p.api.get(r.Context(), token, "/v1/whoami", nil, &me); err != nil {
		msg := "The API did not answer; try again."
		if pr, ok := err.(*Problem); ok {
			msg = "The token was refused: " + pr.Error()
		}
		p.showSignin(w, r, http.StatusUnauthorized, msg)
		return
	}
	if err := p.startSession(w, r, token); err != nil {
		p.log.ErrorContext(r.Context(), "start session", "error", err)
		p.showSignin(w, r, http.StatusInternalServerError, "The session could not be started; try again.")
		return
	}
	p.setCookie(w, r, signinCookie, "", -time.Second)
	http.Redirect(w, r, "/", http.StatusSeeOther)
}

func (p *Portal) signout(w http.ResponseWriter, r *http.Request, _ session) {
	p.endSession(w, r)
	http.Redirect(w, r, "/signin", http.StatusSeeOther)
}
