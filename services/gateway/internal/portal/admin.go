package portal

import (
	"maps"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"
)

type member struct {
	User    string    `json:"user"`
	Role    string    `json:"role"`
	AddedAt time.Time `json:"added_at"`
}

type team struct {
	Name      string   `json:"name"`
	CreatedAt string   `json:"created_at"`
	Members   []member `json:"members"`
}

type teamList struct {
	Items      []team `json:"items"`
	NextCursor string `json:"next_cursor"`
}

type teamView struct {
	Team   team
	Quota  *quota
	Budget *budget
}

type adminData struct {
	IsAdmin   bool
	Teams     []teamView
	Next      string
	Pools     []pool
	Templates []catalogTemplate
	Verify    *auditVerification
	VerifyErr string
	LoadErrs  []string
	Form      string // the form the errors are of
	Values    url.Values
	Errors    map[string]string
	Problem   string
}

func (p *Portal) admin(w http.ResponseWriter, r *http.Request, s session) {
	p.showAdmin(w, r, s, http.StatusOK, adminData{}, "")
}

func (p *Portal) showAdmin(w http.ResponseWriter, r *http.Request, s session, status int, d adminData, notice string) {
	ctx := r.Context()
	var me whoami
	if err := p.api.get(ctx, s.Token, "/v1/whoami", nil, &me); err != nil {
		p.fail(w, r, s, err)
		return
	}
	d.IsAdmin = slices.Contains(me.Roles, "platform-admin")
	pg := page{Title: "Admin", Nav: "admin", SignedIn: true, User: me.ID, CSRF: s.CSRF, Notice: notice, Data: &d}
	if !d.IsAdmin {
		p.render(w, r, status, "admin", pg)
		return
	}
	q := url.Values{"limit": {"50"}}
	if c := r.URL.Query().Get("cursor"); c != "" {
		q.Set("cursor", c)
	}
	var tl teamList
	if err := p.api.get(ctx, s.Token, "/v1/teams", q, &tl); err != nil {
		d.LoadErrs = append(d.LoadErrs, "teams: "+err.Error())
	}
	if tl.NextCursor != "" {
		d.Next = "/admin?" + url.Values{"cursor": {tl.NextCursor}}.Encode()
	}
	var bl budgetList
	if err := p.api.get(ctx, s.Token, "/v1/budgets", nil, &bl); err != nil {
		d.LoadErrs = append(d.LoadErrs, "budgets: "+err.Error())
	}
	for _, t := range tl.Items {
		v := teamView{Team: t}
		var full team
		if err := p.api.get(ctx, s.Token, "/v1/teams/"+seg(t.Name), nil, &full); err == nil {
			v.Team = full // with its members
		}
		var qt quota
		if err := p.api.get(ctx, s.Token, "/v1/quotas/"+seg(t.Name), nil, &qt); err == nil {
			v.Quota = &qt
		}
		for i := range bl.Items {
			if bl.Items[i].Team == t.Name {
				v.Budget = &bl.Items[i]
			}
		}
		d.Teams = append(d.Teams, v)
	}
	var pl poolList
	if err := p.api.get(ctx, s.Token, "/v1/pools", nil, &pl); err != nil {
		d.LoadErrs = append(d.LoadErrs, "pools: "+err.Error())
	}
	d.Pools = pl.Items
	var tpl templateList
	if err := p.api.get(ctx, s.Token, "/v1/templates", url.Values{"limit": {"100"}}, &tpl); err != nil {
		d.LoadErrs = append(d.LoadErrs, "templates: "+err.Error())
	}
	d.Templates = tpl.Items
	var v auditVerification
	if err := p.api.get(ctx, s.Token, "/v1/audit/verify", nil, &v); err != nil {
		d.VerifyErr = err.Error()
	} else {
		d.Verify = &v
	}
	p.render(w, r, status, "admin", pg)
}

// adminWrite runs one write of an admin form and shows the page again,
// with the API's field errors beside the form's fields.
func (p *Portal) adminWrite(form string, build func(r *http.Request, s session, f url.Values) (method, path string, body any, errs map[string]string)) handler {
	return func(w http.ResponseWriter, r *http.Request, s session) {
		method, path, body, errs := build(r, s, r.PostForm)
		if len(errs) > 0 {
			p.showAdmin(w, r, s, http.StatusUnprocessableEntity, adminData{Form: form, Values: r.PostForm, Errors: errs,
				Problem: "Some fields are not valid."}, "")
			return
		}
		_, err := p.api.call(r.Context(), s.Token, method, path, nil, body)
		if pr, ok := err.(*Problem); ok && pr.Status < 500 && pr.Status != http.StatusUnauthorized {
			p.showAdmin(w, r, s, pr.Status, adminData{Form: form, Values: r.PostForm, Errors: pr.ByField(), Problem: pr.Error()}, "")
			return
		}
		if err != nil {
			p.fail(w, r, s, err)
			return
		}
		http.Redirect(w, r, "/admin#"+form, http.StatusSeeOther)
	}
}

// vector reads "cpu=8000 memory=16384" into a quantity per resource;
// field names the form field in an error.
func vector(s, field string, errs map[string]string) map[string]int64 {
	out := map[string]int64{}
	for _, kv := range strings.FieldsFunc(s, func(r rune) bool { return r == ' ' || r == ',' }) {
		k, v, ok := strings.Cut(kv, "=")
		n, err := strconv.ParseInt(strings.TrimSpace(v), 10, 64)
		if !ok || err != nil || strings.TrimSpace(k) == "" {
			errs[field] = "write resource=quantity pairs, like cpu=8000 memory=16384 (" + kv + " is not one)"
			return nil
		}
		out[strings.TrimSpace(k)] = n
	}
	return out
}

func (p *Portal) adminRoutes(mux *http.ServeMux) {
	mux.HandleFunc("GET /admin", p.signedIn(p.admin))
	mux.HandleFunc("POST /admin/teams", p.signedIn(p.adminWrite("team-form", func(_ *http.Request, _ session, f url.Values) (string, string, any, map[string]string) {
		return http.MethodPost, "/v1/teams", map[string]any{"name": strings.TrimSpace(f.Get("name"))}, nil
	})))
	mux.HandleFunc("POST /admin/members", p.signedIn(p.adminWrite("member-form", func(_ *http.Request, _ session, f url.Values) (string, string, any, map[string]string) {
		return http.MethodPut, "/v1/teams/" + seg(strings.TrimSpace(f.Get("team"))) + "/members/" + seg(strings.TrimSpace(f.Get("user"))),
			map[string]any{"role": f.Get("role")}, nil
	})))
	mux.HandleFunc("POST /admin/budgets", p.signedIn(p.adminWrite("budget-form", func(_ *http.Request, _ session, f url.Values) (string, string, any, map[string]string) {
		errs := map[string]string{}
		body := map[string]any{"amount": strings.TrimSpace(f.Get("amount")), "period": f.Get("period")}
		if th := strings.TrimSpace(f.Get("thresholds")); th != "" {
			var ts []int
			for _, x := range strings.FieldsFunc(th, func(r rune) bool { return r == ' ' || r == ',' }) {
				n, err := strconv.Atoi(strings.TrimSuffix(x, "%"))
				if err != nil {
					errs["thresholds"] = "percentages, like 50, 80, 100"
				}
				ts = append(ts, n)
			}
			body["thresholds"] = ts
		}
		if pol := f.Get("policy"); pol != "" {
			body["policy"] = pol
		}
		return http.MethodPut, "/v1/budgets/" + seg(strings.TrimSpace(f.Get("team"))), body, errs
	})))
	mux.HandleFunc("POST /admin/pools", p.signedIn(p.adminWrite("pool-form", func(_ *http.Request, _ session, f url.Values) (string, string, any, map[string]string) {
		errs := map[string]string{}
		c := vector(f.Get("capacity"), "capacity", errs)
		return http.MethodPut, "/v1/pools/" + seg(f.Get("pool")), map[string]any{"capacity": c}, errs
	})))
	mux.HandleFunc("POST /admin/quotas", p.signedIn(p.adminWrite("quota-form", func(r *http.Request, s session, f url.Values) (string, string, any, map[string]string) {
		errs := map[string]string{}
		nominal := vector(f.Get("nominal"), "nominal", errs)
		// PUT replaces the whole quota: keep what the form does not change
		// (the other pools, the limits).
		team := strings.TrimSpace(f.Get("team"))
		body := map[string]any{}
		if err := p.api.get(r.Context(), s.Token, "/v1/quotas/"+seg(team), nil, &body); err != nil && !isStatus(err, http.StatusNotFound) {
			errs["team"] = "its quota could not be read, so it is not changed: " + firstLine(err.Error())
		}
		delete(body, "name")
		nom, _ := body["nominal"].(map[string]any)
		if nom == nil {
			nom = map[string]any{}
		}
		nom[f.Get("pool")] = nominal
		body["nominal"] = nom
		if wt := strings.TrimSpace(f.Get("weight")); wt != "" {
			n, err := strconv.ParseFloat(wt, 64)
			if err != nil {
				errs["weight"] = "a number, like 1 or 2.5"
			}
			body["weight"] = n
		}
		return http.MethodPut, "/v1/quotas/" + seg(team), body, errs
	})))
}

// sortedKeys lists a quantity vector's resources in order.
func sortedKeys(m map[string]int64) []string { return slices.Sorted(maps.Keys(m)) }
