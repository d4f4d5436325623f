package portal

import (
	"encoding/json"
	"net/http"
	"net/url"
	"slices"
	"strings"
)

func (p *Portal) templates(w http.ResponseWriter, r *http.Request, s session) {
	q := url.Values{"limit": {"50"}}
	if c := r.URL.Query().Get("cursor"); c != "" {
		q.Set("cursor", c)
	}
	var l templateList
	if err := p.api.get(r.Context(), s.Token, "/v1/templates", q, &l); err != nil {
		p.fail(w, r, s, err)
		return
	}
	next := ""
	if l.NextCursor != "" {
		next = "/templates?" + url.Values{"cursor": {l.NextCursor}}.Encode()
	}
	p.render(w, r, http.StatusOK, "templates", page{Title: "Templates", Nav: "templates", SignedIn: true, CSRF: s.CSRF,
		Data: map[string]any{"List": l, "Next": next}})
}

// createForm is the create page's data: the template, its generated
// fields and the fields every environment has.
type createForm struct {
	Template catalogTemplate
	Teams    []string
	// AnyTeam: a platform admin may name any team (the list is a hint).
	AnyTeam bool
	Team    string
	Name    string
	Stage   string
	TTL     string
	Fields  []field
	Errors  map[string]string // API field errors by field path
	Problem string            // an error no field names
}

// loadForm reads the template and the caller's teams.
func (p *Portal) loadForm(r *http.Request, s session) (createForm, error) {
	var f createForm
	if err := p.api.get(r.Context(), s.Token, "/v1/templates/"+seg(r.PathValue("name")), nil, &f.Template); err != nil {
		return f, err
	}
	var me whoami
	if err := p.api.get(r.Context(), s.Token, "/v1/whoami", nil, &me); err != nil {
		return f, err
	}
	f.Teams = me.Teams
	if slices.Contains(me.Roles, "platform-admin") {
		f.AnyTeam = true
		var tl struct {
			Items []struct {
				Name string `json:"name"`
			} `json:"items"`
		}
		if err := p.api.get(r.Context(), s.Token, "/v1/teams", url.Values{"limit": {"100"}}, &tl); err == nil {
			for _, t := range tl.Items {
				if !slices.Contains(f.Teams, t.Name) {
					f.Teams = append(f.Teams, t.Name)
				}
			}
		}
	}
	f.Fields = schemaFields(f.Template.Parameters)
	if len(f.Template.Lifecycle.Stages) > 0 {
		f.Stage = f.Template.Lifecycle.Stages[0]
	}
	switch {
	case len(f.Teams) > 0:
		f.Team = f.Teams[0]
	case f.AnyTeam:
		f.Team = "demo" // the team deploy/scheduler/pools.yaml gives a quota
	}
	return f, nil
}

func (p *Portal) templateForm(w http.ResponseWriter, r *http.Request, s session) {
	f, err := p.loadForm(r, s)
	if err != nil {
		p.fail(w, r, s, err)
		return
	}
	p.showForm(w, r, s, http.StatusOK, f)
}

func (p *Portal) showForm(w http.ResponseWriter, r *http.Request, s session, status int, f createForm) {
	p.render(w, r, status, "create", page{Title: "Create from " + f.Template.Name, Nav: "templates", SignedIn: true,
		CSRF: s.CSRF, Data: f})
}

// body is the create request the form describes.
func (f createForm) body(form url.Values) map[string]any {
	b := map[string]any{
		"team": form.Get("team"), "name": strings.TrimSpace(form.Get("name")), "template": f.Template.Name,
		"version": f.Template.Version, "stage": form.Get("stage"), "parameters": parameters(f.Fields, form),
	}
	if ttl := strings.TrimSpace(form.Get("ttl")); ttl != "" {
		b["ttl"] = ttl
	}
	return b
}

// createEnvironment posts the form to the API; its field errors go back
// next to their fields, success goes to the environment's live page.
func (p *Portal) createEnvironment(w http.ResponseWriter, r *http.Request, s session) {
	f, err := p.loadForm(r, s)
	if err != nil {
		p.fail(w, r, s, err)
		return
	}
	raw, err := p.api.call(r.Context(), s.Token, http.MethodPost, "/v1/environments", nil, f.body(r.PostForm))
	if err != nil {
		pr, ok := err.(*Problem)
		if !ok || pr.Status >= 500 || pr.Status == http.StatusUnauthorized {
			p.fail(w, r, s, err)
			return
		}
		f.Team, f.Name, f.Stage, f.TTL = r.PostFormValue("team"), r.PostFormValue("name"), r.PostFormValue("stage"), r.PostFormValue("ttl")
		f.Errors = pr.ByField()
		f.Fields = withValues(f.Fields, r.PostForm, f.Errors)
		f.Problem = unplaced(pr, f)
		p.showForm(w, r, s, pr.Status, f)
		return
	}
	var acc struct {
		Environment environment `json:"environment"`
	}
	if err := json.Unmarshal(raw, &acc); err != nil || acc.Environment.ID == "" {
		p.fail(w, r, s, &Problem{Status: http.StatusBadGateway, Title: "Bad Gateway", Detail: "the API's answer names no environment"})
		return
	}
	http.Redirect(w, r, "/environments/"+seg(acc.Environment.ID), http.StatusSeeOther)
}

// unplaced is the part of a problem no form field shows: its detail when
// no field is named, and errors on fields the form does not have.
func unplaced(pr *Problem, f createForm) string {
	shown := map[string]bool{"team": true, "name": true, "stage": true, "ttl": true}
	for _, fl := range f.Fields {
		shown[fl.Name] = true
	}
	var rest []string
	for _, e := range pr.Errors {
		if !shown[e.Field] {
			rest = append(rest, e.Field+": "+e.Message)
		}
	}
	if len(pr.Errors) == 0 {
		return pr.Error()
	}
	return strings.Join(rest, "; ")
}

// estimate answers the cost estimate of the form as it stands (htmx
// swaps it in on every change).
func (p *Portal) estimate(w http.ResponseWriter, r *http.Request, s session) {
	var t catalogTemplate
	if err := p.api.get(r.Context(), s.Token, "/v1/templates/"+seg(r.PathValue("name")), nil, &t); err != nil {
		p.fragment(w, r, "create", "estimate", page{Data: map[string]any{"Error": err.Error()}})
		return
	}
	body := map[string]any{"template": t.Name, "version": t.Version,
		"parameters": parameters(schemaFields(t.Parameters), r.PostForm)}
	var e estimate
	raw, err := p.api.call(r.Context(), s.Token, http.MethodPost, "/v1/costs/estimate", nil, body)
	if err == nil {
		err = json.Unmarshal(raw, &e)
	}
	data := map[string]any{"Estimate": e}
	if err != nil {
		data["Error"] = err.Error()
	}
	p.fragment(w, r, "create", "estimate", page{Data: data})
}
