package portal

import (
	"bytes"
	"fmt"
	"html/template"
	"io/fs"
	"net/http"
	"strings"
	"time"
)

// page is what every template gets: the layout's parts and the page's
// own data.
type page struct {
	Title    string
	Nav      string // the active section
	SignedIn bool
	User     string
	CSRF     string
	Error    string
	Notice   string
	Data     any
}

// pages are the parsed templates, one set per page (the layout plus the
// page), and the fragments htmx swaps in.
type pages map[string]*template.Template

var funcs = template.FuncMap{
	"when": func(t time.Time) string {
		if t.IsZero() {
			return ""
		}
		return t.UTC().Format("2006-01-02 15:04 UTC")
	},
	"fieldID": fieldID,
	"teamHelp": func(anyTeam bool) string {
		if anyTeam {
			return "The team that owns it and pays for it. As a platform admin you may name any team."
		}
		return "The team that owns it and pays for it."
	},
	"row": func(name, label, help string, errs map[string]string) formRow {
		return formRow{name, label, help, errs}
	},
	"settled":    func(state string) bool { return settledStates[state] },
	"join":       strings.Join,
	"keys":       sortedKeys,
	"cancelArgs": func(id, csrf string) map[string]string { return map[string]string{"ID": id, "CSRF": csrf} },
	"roles":      func() []string { return []string{"viewer", "developer", "maintainer", "admin"} },
	"stages":     func() []string { return []string{"dev", "test", "staging", "prod"} },
	"states": func() []string {
		return []string{"requested", "queued", "provisioning", "ready", "updating", "degraded", "expiring",
			"decommissioning", "deleted", "failed", "compensation_failed"}
	},
}

func parsePages() (pages, error) {
	layout, err := template.New("layout.html").Funcs(funcs).ParseFS(templateFS, "templates/layout.html")
	if err != nil {
		return nil, fmt.Errorf("parse layout: %w", err)
	}
	names, err := fs.Glob(templateFS, "templates/*.html")
	if err != nil {
		return nil, err
	}
	out := pages{}
	for _, n := range names {
		name := strings.TrimSuffix(strings.TrimPrefix(n, "templates/"), ".html")
		if name == "layout" {
			continue
		}
		t, err := template.Must(layout.Clone()).ParseFS(templateFS, n)
		if err != nil {
			return nil, fmt.Errorf("parse %s: %w", n, err)
		}
		out[name] = t
	}
	return out, nil
}

// render writes a whole page (the layout around the page's content).
func (p *Portal) render(w http.ResponseWriter, r *http.Request, status int, name string, pg page) {
	p.execute(w, r, status, name, "layout.html", pg)
}

// fragment writes one named template of a page, for htmx to swap in.
func (p *Portal) fragment(w http.ResponseWriter, r *http.Request, name, block string, pg page) {
	p.execute(w, r, http.StatusOK, name, block, pg)
}

func (p *Portal) execute(w http.ResponseWriter, r *http.Request, status int, name, block string, pg page) {
	t := p.pages[name]
	var buf bytes.Buffer
	if t == nil {
		p.log.ErrorContext(r.Context(), "portal page", "page", name, "error", "no such template")
		http.Error(w, "page not available", http.StatusInternalServerError)
		return
	}
	if err := t.ExecuteTemplate(&buf, block, pg); err != nil {
		p.log.ErrorContext(r.Context(), "portal page", "page", name, "error", err)
		http.Error(w, "page not available", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(status)
	_, _ = w.Write(buf.Bytes())
}

// formRow is a fixed field of a form: its label, help and the API's
// errors.
type formRow struct {
	Name, Label, Help string
	Errors            map[string]string
}

// fieldID turns a field path (parameters.size) into an element id.
func fieldID(field string) string {
	return "f-" + strings.NewReplacer(".", "-", "[", "-", "]", "").Replace(field)
}

// settledStates are the states no operation moves on from by itself.
var settledStates = map[string]bool{"ready": true, "failed": true, "deleted": true, "degraded": true,
	"compensation_failed": true}
