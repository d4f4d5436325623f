package portal

import (
	"context"
	"encoding/json"
	"maps"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"
)

// envData is the environment page's data.
type envData struct {
	Env     environment
	Cost    *estimate // what the API estimates it costs (nil: no estimate)
	Live    bool      // the page follows the event stream
	Errors  map[string]string
	Problem string
	// Fields is the parameter update form, from the template's schema,
	// with the environment's values (or the values sent and the API's
	// errors).
	Fields []field
	// Receipt is the teardown receipt of a deleted environment as the
	// API answers it; ReceiptNote says why there is none.
	Receipt     []keyValue
	ReceiptNote string
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
	if (d.Env.State == "ready" || d.Env.State == "degraded") && d.Env.Operation == nil && d.Fields == nil {
		if fields, err := p.parameterFields(r, s, d.Env); err == nil {
			form := url.Values{}
			for k, v := range d.Env.Parameters {
				form.Set("parameters."+k, text(v))
			}
			d.Fields = withValues(fields, form, nil)
		}
	}
	if d.Env.State == "deleted" {
		p.receipt(r, s, &d)
	}
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

// parameterFields is the form of the environment's template version.
func (p *Portal) parameterFields(r *http.Request, s session, e environment) ([]field, error) {
	var t catalogTemplate
	if err := p.api.get(r.Context(), s.Token, "/v1/templates/"+seg(e.Template), url.Values{"version": {e.Version}}, &t); err != nil {
		return nil, err
	}
	return schemaFields(t.Parameters), nil
}

// updateParameters asks for a new revision with the form's parameters;
// the API's field errors go back beside their fields.
func (p *Portal) updateParameters(w http.ResponseWriter, r *http.Request, s session) {
	e, err := p.loadEnvironment(r, s)
	if err != nil {
		p.fail(w, r, s, err)
		return
	}
	fields, err := p.parameterFields(r, s, e)
	if err != nil {
		p.fail(w, r, s, err)
		return
	}
	body := map[string]any{"parameters": parameters(fields, r.PostForm)}
	_, err = p.api.call(r.Context(), s.Token, http.MethodPatch, "/v1/environments/"+seg(e.ID), nil, body)
	if pr, ok := err.(*Problem); ok && pr.Status < 500 && pr.Status != http.StatusUnauthorized && pr.Status != http.StatusNotFound {
		p.showEnvironment(w, r, s, pr.Status, envData{Env: e, Fields: withValues(fields, r.PostForm, pr.ByField()),
			Problem: pr.Error()})
		return
	}
	if err != nil {
		p.fail(w, r, s, err)
		return
	}
	http.Redirect(w, r, "/environments/"+seg(e.ID), http.StatusSeeOther)
}

// receipt reads the teardown receipt of a deleted environment, if the
// API serves one.
func (p *Portal) receipt(r *http.Request, s session, d *envData) {
	var rc map[string]any
	err := p.api.get(r.Context(), s.Token, "/v1/environments/"+seg(d.Env.ID)+"/receipt", nil, &rc)
	if err != nil {
		if isStatus(err, http.StatusNotFound, http.StatusNotImplemented) {
			d.ReceiptNote = "Not available: the API serves no teardown receipt for this environment (GET /v1/environments/{id}/receipt answered " + firstLine(err.Error()) + ")."
		} else {
			d.ReceiptNote = "Not available: " + firstLine(err.Error())
		}
		return
	}
	for _, k := range slices.Sorted(maps.Keys(rc)) {
		d.Receipt = append(d.Receipt, keyValue{k, text(rc[k])})
	}
}

// timelineEntry is one state change of an environment.
type timelineEntry struct {
	At       time.Time `json:"at"`
	From     string    `json:"from"`
	To       string    `json:"to"`
	Reason   string    `json:"reason"`
	Revision int       `json:"revision"`
}

// timelineWait bounds the replay of an environment's events.
const timelineWait = 10 * time.Second

// timeline answers the environment's state changes, from the start of
// the lifecycle event stream the API keeps: the event stream of
// GET /v1/environments/{id}/events resumed after event 0 replays them
// and ends, for a settled environment. htmx loads it after the page, so
// the page does not wait for the replay.
func (p *Portal) timeline(w http.ResponseWriter, r *http.Request, s session) {
	data := map[string]any{}
	e, err := p.loadEnvironment(r, s)
	switch {
	case err != nil:
		data["Error"] = firstLine(err.Error())
	case !settledStates[e.State] || e.Operation != nil:
		data["Error"] = "The timeline appears once the environment settles; its progress above is live."
	default:
		ctx, cancel := context.WithTimeout(r.Context(), timelineWait)
		defer cancel()
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, "/v1/environments/"+seg(e.ID)+"/events", http.NoBody)
		req.Header.Set("Authorization", "Bearer "+s.Token)
		req.Header.Set("Accept", "text/event-stream")
		req.Header.Set("Last-Event-ID", "0")
		rec := &recorder{header: http.Header{}, status: http.StatusOK}
		p.api.Handler.ServeHTTP(rec, req)
		if rec.status >= 400 {
			data["Error"] = "The API did not replay the events: " + http.StatusText(rec.status)
			break
		}
		var entries []timelineEntry
		for _, ev := range parseSSE(rec.body.String()) {
			if ev.name != "transitioned" {
				continue
			}
			var t timelineEntry
			if json.Unmarshal([]byte(ev.data), &t) == nil {
				entries = append(entries, t)
			}
		}
		if ctx.Err() != nil {
			data["Partial"] = true
		}
		data["Entries"] = entries
	}
	p.fragment(w, r, "environment", "timeline", page{Data: data})
}

type sseEvent struct{ name, data string }

// parseSSE splits a text/event-stream body into its events.
func parseSSE(body string) []sseEvent {
	var out []sseEvent
	for _, block := range strings.Split(body, "\n\n") {
		var ev sseEvent
		for _, line := range strings.Split(block, "\n") {
			switch {
			case strings.HasPrefix(line, "event:"):
				ev.name = strings.TrimSpace(strings.TrimPrefix(line, "event:"))
			case strings.HasPrefix(line, "data:"):
				if ev.data != "" {
					ev.data += "\n"
				}
				ev.data += strings.TrimPrefix(strings.TrimPrefix(line, "data:"), " ")
			}
		}
		if ev.name != "" {
			out = append(out, ev)
		}
	}
	return out
}
