package portal

import (
	"net/http"
	"net/url"
	"slices"
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
	Incident  string     `json:"incident_id"`
	BreakGlas bool       `json:"break_glass"`
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
	// Break-glass: its form (and errors, apart from the request form's)
	// and the grants it gave that are active now.
	Glass       url.Values
	GlassErrors map[string]string
	GlassActive []grant
	// Review campaigns the user may see, open first.
	Reviews []accessReview
}

type accessReviewItem struct {
	ID         string     `json:"id"`
	Subject    string     `json:"subject"`
	Principal  string     `json:"principal"`
	Kind       string     `json:"kind"`
	Role       string     `json:"role"`
	Scope      grantScope `json:"scope"`
	ExpiresAt  time.Time  `json:"expires_at"`
	LastUsedAt time.Time  `json:"last_used_at"`
	Decision   string     `json:"decision"`
	DecidedBy  string     `json:"decided_by"`
	Outcome    string     `json:"outcome"`
}

type accessReview struct {
	ID        string             `json:"id"`
	Team      string             `json:"team"`
	Trigger   string             `json:"trigger"`
	Deadline  time.Time          `json:"deadline"`
	CreatedBy string             `json:"created_by"`
	State     string             `json:"state"`
	Items     []accessReviewItem `json:"items"`
}

type accessReviewList struct {
	Items []accessReview `json:"items"`
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
			if g.BreakGlas && g.Active {
				d.GlassActive = append(d.GlassActive, g)
			}
		}
	}
	if d.Glass == nil {
		d.Glass = url.Values{"duration": {"1h"}}
	}
	var rv accessReviewList
	if err := p.api.get(ctx, s.Token, "/v1/access-reviews", url.Values{"limit": {"20"}}, &rv); err != nil {
		d.LoadErrs = append(d.LoadErrs, "access reviews: "+err.Error())
	}
	d.Reviews = rv.Items
	slices.SortStableFunc(d.Reviews, func(a, b accessReview) int {
		if (a.State == "open") != (b.State == "open") {
			if a.State == "open" {
				return -1
			}
			return 1
		}
		return 0
	})
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

// breakGlass takes emergency access at once, for an incident: no second
// person first, but a review campaign opens and everyone sees it.
func (p *Portal) breakGlass(w http.ResponseWriter, r *http.Request, s session) {
	f := r.PostForm
	scope := map[string]any{"team": strings.TrimSpace(f.Get("team"))}
	if st := f.Get("stage"); st != "" {
		scope["stage"] = st
	}
	if id := strings.TrimSpace(f.Get("environment_id")); id != "" {
		scope["environment_id"] = id
	}
	body := map[string]any{"incident_id": strings.TrimSpace(f.Get("incident_id")), "reason": strings.TrimSpace(f.Get("reason")),
		"scope": scope, "duration": strings.TrimSpace(f.Get("duration"))}
	if role := f.Get("role"); role != "" {
		body["role"] = role
	}
	_, err := p.api.call(r.Context(), s.Token, http.MethodPost, "/v1/break-glass", nil, body)
	if pr, ok := err.(*Problem); ok && pr.Status < 500 && pr.Status != http.StatusUnauthorized {
		p.showAccess(w, r, s, pr.Status, accessData{Form: url.Values{"duration": {"1h"}, "role": {"maintainer"}},
			Glass: f, GlassErrors: pr.ByField(), Problem: "Break-glass refused: " + pr.Error()}, "")
		return
	}
	if err != nil {
		p.fail(w, r, s, err)
		return
	}
	http.Redirect(w, r, "/access", http.StatusSeeOther)
}

// decideReview keeps or revokes one item of a review campaign.
func (p *Portal) decideReview(w http.ResponseWriter, r *http.Request, s session) {
	id := r.PathValue("id")
	body := map[string]any{"item_id": r.PostFormValue("item_id"), "decision": r.PostFormValue("decision")}
	_, err := p.api.call(r.Context(), s.Token, http.MethodPost, "/v1/access-reviews/"+seg(id)+"/decisions", nil, body)
	if pr, ok := err.(*Problem); ok && pr.Status < 500 && pr.Status != http.StatusUnauthorized {
		p.showAccess(w, r, s, pr.Status, accessData{Form: url.Values{"duration": {"1h"}, "role": {"maintainer"}},
			Problem: "Review " + id + ": " + pr.Error()}, "")
		return
	}
	if err != nil {
		p.fail(w, r, s, err)
		return
	}
	http.Redirect(w, r, "/access#h-reviews", http.StatusSeeOther)
}
