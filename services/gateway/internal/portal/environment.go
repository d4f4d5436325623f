package portal

import (
	"encoding/json"
	"net/http"
	"net/url"
	"slices"
	"strings"
)

// envData is the environment page's data.
type envData struct {
	Env     environment
	Cost    *estimate // what the API estimates it costs (nil: no estimate)
	Live    bool      // the page follows the event stream
	Errors  map[string]string
	Problem string
}

func (p *Portal) loadEnvironment(r *http.Request, s session) (environment, error) {
	return p.getEnvironment(r, s, nil)
}

// getEnvironment reads the environment with query q (credentials=true asks
// for the logins the API lets this user have).
func (p *Portal) getEnvironment(r *http.Request, s session, q url.Values) (environment, error) {
	var e environment
	err := p.api.get(r.Context(), s.Token, "/v1/environments/"+seg(r.PathValue("id")), q, &e)
	for k, v := range e.Parameters {
		e.Params = append(e.Params, keyValue{k, text(v)})
	}
	slices.SortFunc(e.Params, func(a, b keyValue) int { return strings.Compare(a.Key, b.Key) })
	return e, err
}

func (p *Portal) environment(w http.ResponseWriter, r *http.Request, s session) {
	e, err := p.loadEnvironment(r, s)
	if err != nil {
		p.fail(w, r, s, err)
		return
	}
	p.showEnvironment(w, r, s, http.StatusOK, envData{Env: e, Cost: p.estimateOf(r, s, e)})
}

// estimateOf asks the API what the environment costs at its parameters;
// nil when it cannot say.
func (p *Portal) estimateOf(r *http.Request, s session, e environment) *estimate {
	raw, err := p.api.call(r.Context(), s.Token, http.MethodPost, "/v1/costs/estimate", nil,
		map[string]any{"template": e.Template, "version": e.Version, "parameters": e.Parameters})
	var est estimate
	if err != nil || json.Unmarshal(raw, &est) != nil {
		return nil
	}
	return &est
}

func (p *Portal) showEnvironment(w http.ResponseWriter, r *http.Request, s session, status int, d envData) {
	d.Live = !settledStates[d.Env.State] || d.Env.Operation != nil
	p.render(w, r, status, "environment", page{Title: d.Env.Name, Nav: "environments", SignedIn: true, CSRF: s.CSRF, Data: d})
}

// events relays the API's event stream of the environment to the page's
// EventSource (which cannot send a bearer token itself).
func (p *Portal) events(w http.ResponseWriter, r *http.Request, s session) {
	p.api.stream(w, r, s.Token, "/v1/environments/"+seg(r.PathValue("id"))+"/events")
}

// credentials answers the resources' logins, only when asked (a POST, so
// they are never in a page a browser keeps in its history or cache).
//
// The API decides which login, if any: the owner's for a maintainer (for
// production only through a grant), the user's own grant login otherwise;
// a refusal is shown as the API words it.
func (p *Portal) credentials(w http.ResponseWriter, r *http.Request, s session) {
	e, err := p.getEnvironment(r, s, url.Values{"credentials": {"true"}})
	data := map[string]any{"Env": e}
	if err != nil {
		data["Error"] = err.Error()
	}
	p.fragment(w, r, "environment", "credentials", page{Data: data})
}

func (p *Portal) confirmDelete(w http.ResponseWriter, r *http.Request, s session) {
	e, err := p.loadEnvironment(r, s)
	if err != nil {
		p.fail(w, r, s, err)
		return
	}
	p.render(w, r, http.StatusOK, "delete", page{Title: "Delete " + e.Name, Nav: "environments", SignedIn: true,
		CSRF: s.CSRF, Data: envData{Env: e}})
}

// deleteEnvironment asks for the teardown once the user typed the
// environment's name, then shows its live progress.
func (p *Portal) deleteEnvironment(w http.ResponseWriter, r *http.Request, s session) {
	e, err := p.loadEnvironment(r, s)
	if err != nil {
		p.fail(w, r, s, err)
		return
	}
	if strings.TrimSpace(r.PostFormValue("confirm")) != e.Name {
		p.render(w, r, http.StatusUnprocessableEntity, "delete", page{Title: "Delete " + e.Name, Nav: "environments",
			SignedIn: true, CSRF: s.CSRF, Data: envData{Env: e, Errors: map[string]string{"confirm": "type the name " + e.Name + " to confirm"}}})
		return
	}
	if _, err := p.api.call(r.Context(), s.Token, http.MethodDelete, "/v1/environments/"+seg(e.ID), nil, nil); err != nil {
		p.fail(w, r, s, err)
		return
	}
	http.Redirect(w, r, "/environments/"+seg(e.ID), http.StatusSeeOther)
}

// extend sets a new time to live or keeps an ephemeral environment.
func (p *Portal) extend(w http.ResponseWriter, r *http.Request, s session) {
	body := map[string]any{}
	if ttl := strings.TrimSpace(r.PostFormValue("ttl")); ttl != "" {
		body["ttl"] = ttl
	}
	if r.PostFormValue("keep") == "true" {
		body["keep"] = true
	}
	_, err := p.api.call(r.Context(), s.Token, http.MethodPost, "/v1/environments/"+seg(r.PathValue("id"))+"/extend", nil, body)
	pr, isProblem := err.(*Problem)
	if err != nil && (!isProblem || pr.Status >= 500 || pr.Status == http.StatusUnauthorized || pr.Status == http.StatusNotFound) {
		p.fail(w, r, s, err)
		return
	}
	e, lerr := p.loadEnvironment(r, s)
	if lerr != nil {
		p.fail(w, r, s, lerr)
		return
	}
	if err != nil {
		p.showEnvironment(w, r, s, pr.Status, envData{Env: e, Errors: pr.ByField(), Problem: pr.Error()})
		return
	}
	http.Redirect(w, r, "/environments/"+seg(e.ID), http.StatusSeeOther)
}
