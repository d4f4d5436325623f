package portal

import (
	"net/http"
	"net/url"
	"slices"
)

// homeData is what the home page shows; a part the API refused says why
// instead of failing the page.
type homeData struct {
	Me             whoami
	IsAdmin        bool
	Teams          []teamRole
	Environments   environmentList
	EnvError       string
	Budgets        []budget
	Unbudgeted     []string
	BudgetError    string
	Approvals      []accessRequest
	ApprovalsError string
	// Promotions waiting for an approval, asked for by someone else.
	Promotions []promotion
	// Alerts as GET /v1/alerts answers them; AlertsNote says why there
	// are none to show.
	Alerts     []alert
	AlertsNote string
}

// alert is what the home page shows of one alert: the API's own words.
type alert struct {
	Severity, Summary, Detail string
	Since                     string
}

type teamRole struct{ Team, Role string }

func (p *Portal) home(w http.ResponseWriter, r *http.Request, s session) {
	ctx := r.Context()
	var d homeData
	if err := p.api.get(ctx, s.Token, "/v1/whoami", nil, &d.Me); err != nil {
		p.fail(w, r, s, err)
		return
	}
	d.IsAdmin = slices.Contains(d.Me.Roles, "platform-admin")
	for _, t := range d.Me.Teams {
		d.Teams = append(d.Teams, teamRole{t, d.Me.TeamRoles[t]})
	}
	if err := p.api.get(ctx, s.Token, "/v1/environments", url.Values{"limit": {"20"}}, &d.Environments); err != nil {
		d.EnvError = err.Error()
	}
	var bl budgetList
	if err := p.api.get(ctx, s.Token, "/v1/budgets", nil, &bl); err != nil {
		d.BudgetError = err.Error()
	}
	d.Budgets = bl.Items
	for _, t := range d.Me.Teams {
		if !slices.ContainsFunc(bl.Items, func(b budget) bool { return b.Team == t }) {
			d.Unbudgeted = append(d.Unbudgeted, t)
		}
	}
	var ar accessRequestList
	if err := p.api.get(ctx, s.Token, "/v1/access-requests", url.Values{"state": {"pending"}}, &ar); err != nil {
		d.ApprovalsError = err.Error()
	}
	for _, a := range ar.Items {
		if a.Requester != d.Me.ID { // one's own request waits for someone else
			d.Approvals = append(d.Approvals, a)
		}
	}
	var pl promotionList
	if err := p.api.get(ctx, s.Token, "/v1/promotions", url.Values{"limit": {"50"}}, &pl); err == nil {
		for _, pr := range pl.Items {
			if pr.State == "awaiting_approval" && pr.By != d.Me.ID {
				d.Promotions = append(d.Promotions, pr)
			}
		}
	}
	d.Alerts, d.AlertsNote = p.alerts(r, s)
	p.render(w, r, http.StatusOK, "home", page{Title: "Home", Nav: "home", SignedIn: true, User: d.Me.ID, CSRF: s.CSRF, Data: d})
}

// environments is the paged list of the caller's environments.
func (p *Portal) environments(w http.ResponseWriter, r *http.Request, s session) {
	q := url.Values{"limit": {"50"}}
	for _, k := range []string{"cursor", "team", "state", "stage"} {
		if v := r.URL.Query().Get(k); v != "" {
			q.Set(k, v)
		}
	}
	var l environmentList
	if err := p.api.get(r.Context(), s.Token, "/v1/environments", q, &l); err != nil {
		p.fail(w, r, s, err)
		return
	}
	next := ""
	if l.NextCursor != "" {
		nq := url.Values{"cursor": {l.NextCursor}}
		for _, k := range []string{"team", "state", "stage"} {
			if v := q.Get(k); v != "" {
				nq.Set(k, v)
			}
		}
		next = "/environments?" + nq.Encode()
	}
	p.render(w, r, http.StatusOK, "environments", page{Title: "Environments", Nav: "environments", SignedIn: true,
		CSRF: s.CSRF, Data: map[string]any{"List": l, "Next": next, "Filter": q}})
}

// alerts reads GET /v1/alerts (filtered to the caller's teams). Should the API not answer, the page says
// so instead of showing anything made up.
func (p *Portal) alerts(r *http.Request, s session) ([]alert, string) {
	var l struct {
		Items []map[string]any `json:"items"`
	}
	err := p.api.get(r.Context(), s.Token, "/v1/alerts", url.Values{"limit": {"10"}}, &l)
	switch {
	case isStatus(err, http.StatusNotFound, http.StatusNotImplemented):
		return nil, "Alerts are not available yet: the API has no alerts (GET /v1/alerts answered " + firstLine(err.Error()) + ")."
	case err != nil:
		return nil, "Alerts not available: " + firstLine(err.Error())
	case len(l.Items) == 0:
		return nil, "No alert is firing."
	}
	pick := func(m map[string]any, keys ...string) string {
		for _, k := range keys {
			if v, ok := m[k]; ok && v != nil {
				return text(v)
			}
		}
		return ""
	}
	out := make([]alert, 0, len(l.Items))
	for _, it := range l.Items {
		out = append(out, alert{Severity: pick(it, "severity", "level"), Summary: pick(it, "summary", "title", "name", "id"),
			Detail: pick(it, "detail", "description", "message"), Since: pick(it, "since", "started_at", "fired_at", "at")})
	}
	return out, ""
}
