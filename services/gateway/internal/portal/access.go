package portal

import (
	"net/http"
	"net/url"
	"strings"
	"time"
)

type grantScope struct {
	Kind          string `json:"kind"`
	EnvironmentID string `json:"environment_id"`
	Stage         string `json:"stage"`
}

type grant struct {
	ID        string     `json:"id"`
	Kind      string     `json:"kind"`
	Principal string     `json:"principal"`
	Team      string     `json:"team"`
	Role      string     `json:"role"`
	Scope     grantScope `json:"scope"`
	ExpiresAt time.Time  `json:"expires_at"`
	State     string     `json:"state"`
	Active    bool       `json:"active"`
	Reason    string     `json:"reason"`
}

type grantList struct {
	Items []grant `json:"items"`
}

// accessData is the Access page: my grants and requests, the requests
// waiting for me, and the request form with the API's field errors.
type accessData struct {
	Me       whoami
	Grants   []grant
	Mine     []accessRequest
	Inbox    []accessRequest
	Form     url.Values
	Errors   map[string]string
	Problem  string
	LoadErrs []string
}

func (p *Portal) access(w http.ResponseWriter, r *http.Request, s session) {
	p.showAccess(w, r, s, http.StatusOK, accessData{Form: url.Values{"duration": {"1h"}, "role": {"maintainer"}}}, "")
}

func (p *Portal) showAccess(w http.ResponseWriter, r *http.Request, s session, status int, d accessData, notice string) {
	ctx := r.Context()
	if err := p.api.get(ctx, s.Token, "/v1/whoami", nil, &d.Me); err != nil {
		p.fail(w, r, s, err)
		return
	}
	var gl grantList
	if err := p.api.get(ctx, s.Token, "/v1/grants", nil, &gl); err != nil {
		d.LoadErrs = append(d.LoadErrs, "grants: "+err.Error())
	}
	for _, g := range gl.Items {
		if g.Principal == d.Me.ID {
			d.Grants = append(d.Grants, g)
		}
	}
	var rl accessRequestList
	if err := p.api.get(ctx, s.Token, "/v1/access-requests", nil, &rl); err != nil {
		d.LoadErrs = append(d.LoadErrs, "requests: "+err.Error())
	}
	for _, a := range rl.Items {
		switch {
		case a.Requester == d.Me.ID:
			d.Mine = append(d.Mine, a)
		case a.State == "pending":
			d.Inbox = append(d.Inbox, a)
		}
	}
	p.render(w, r, status, "access", page{Title: "Access", Nav: "access", SignedIn: true, User: d.Me.ID, CSRF: s.CSRF,
		Notice: notice, Data: d})
}

// requestAccess asks for a just-in-time grant; a second person approves.
func (p *Portal) requestAccess(w http.ResponseWriter, r *http.Request, s session) {
	f := r.PostForm
	scope := map[string]any{"team": strings.TrimSpace(f.Get("team"))}
	if st := f.Get("stage"); st != "" {
		scope["stage"] = st
	}
	if id := strings.TrimSpace(f.Get("environment_id")); id != "" {
		scope["environment_id"] = id
	}
	body := map[string]any{"kind": "access", "role": f.Get("role"), "scope": scope,
		"duration": strings.TrimSpace(f.Get("duration")), "reason": strings.TrimSpace(f.Get("reason"))}
	_, err := p.api.call(r.Context(), s.Token, http.MethodPost, "/v1/access-requests", nil, body)
	if pr, ok := err.(*Problem); ok && pr.Status < 500 && pr.Status != http.StatusUnauthorized {
		p.showAccess(w, r, s, pr.Status, accessData{Form: f, Errors: pr.ByField(), Problem: pr.Error()}, "")
		return
	}
	if err != nil {
		p.fail(w, r, s, err)
		return
	}
	http.Redirect(w, r, "/access", http.StatusSeeOther)
}

// decideAccess approves or denies a request of someone else.
func (p *Portal) decideAccess(verb string) handler {
	return func(w http.ResponseWriter, r *http.Request, s session) {
		body := map[string]any{}
		if reason := strings.TrimSpace(r.PostFormValue("reason")); reason != "" {
			body["reason"] = reason
		}
		id := r.PathValue("id")
		_, err := p.api.call(r.Context(), s.Token, http.MethodPost, "/v1/access-requests/"+seg(id)+"/"+verb, nil, body)
		if pr, ok := err.(*Problem); ok && pr.Status < 500 && pr.Status != http.StatusUnauthorized {
			p.showAccess(w, r, s, pr.Status, accessData{Form: url.Values{"duration": {"1h"}},
				Problem: "Request " + id + ": " + pr.Error()}, "")
			return
		}
		if err != nil {
			p.fail(w, r, s, err)
			return
		}
		http.Redirect(w, r, "/access", http.StatusSeeOther)
	}
}
