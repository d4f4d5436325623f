package portal

import (
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"
)

type costSteps struct {
	Start time.Time `json:"start"`
	End   time.Time `json:"end"`
	Cost  string    `json:"cost"`
}

type costGroup struct {
	Key   map[string]string `json:"key"`
	Total string            `json:"total"`
	Steps []costSteps       `json:"steps"`
}

type costReport struct {
	Currency string `json:"currency"`
	Window   struct {
		Start time.Time `json:"start"`
		End   time.Time `json:"end"`
	} `json:"window"`
	Step    string      `json:"step"`
	Total   string      `json:"total"`
	Omitted int         `json:"omitted"`
	Items   []costGroup `json:"items"`
}

// costWindows are the windows the page offers, each with its step.
var costWindows = []struct{ Window, Step, Label string }{
	{"today", "1h", "Today, by hour"},
	{"7d", "1d", "Last 7 days, by day"},
	{"month", "1d", "This month, by day"},
}

var costAggregates = []string{"team", "environment", "template", "stage"}

type costsData struct {
	Me       whoami
	Window   string
	By       string
	Windows  any
	ByChoice []string
	Report   costReport
	Groups   []costGroupView
	Chart    *chart
	Budgets  []budget
	LoadErrs []string
	Export   string
}

type costGroupView struct {
	Name  string
	Total string
}

func (p *Portal) costs(w http.ResponseWriter, r *http.Request, s session) {
	ctx := r.Context()
	d := costsData{Window: "7d", By: "team", Windows: costWindows, ByChoice: costAggregates}
	if err := p.api.get(ctx, s.Token, "/v1/whoami", nil, &d.Me); err != nil {
		p.fail(w, r, s, err)
		return
	}
	step := "1d"
	if v := r.URL.Query().Get("window"); v != "" {
		d.Window = v
	}
	known := false
	for _, cw := range costWindows {
		if cw.Window == d.Window {
			step, known = cw.Step, true
		}
	}
	if !known {
		d.Window, step = "7d", "1d"
	}
	if v := r.URL.Query().Get("by"); slices.Contains(costAggregates, v) {
		d.By = v
	}
	q := url.Values{"window": {d.Window}, "step": {step}, "aggregate": {d.By}, "limit": {"6"}}
	if err := p.api.get(ctx, s.Token, "/v1/costs", q, &d.Report); err != nil {
		d.LoadErrs = append(d.LoadErrs, "spend: "+err.Error())
	} else {
		d.Chart = costChart(d.Report, d.By, step)
		for _, g := range d.Report.Items {
			d.Groups = append(d.Groups, costGroupView{Name: keyName(g.Key, d.By), Total: g.Total})
		}
	}
	var bl budgetList
	if err := p.api.get(ctx, s.Token, "/v1/budgets", nil, &bl); err != nil {
		d.LoadErrs = append(d.LoadErrs, "budgets: "+err.Error())
	}
	d.Budgets = bl.Items
	d.Export = "/costs/export?" + url.Values{"window": {"month"}}.Encode()
	p.render(w, r, http.StatusOK, "costs", page{Title: "Costs", Nav: "costs", SignedIn: true, User: d.Me.ID, CSRF: s.CSRF, Data: d})
}

func keyName(k map[string]string, by string) string {
	if v := k[by]; v != "" {
		return v
	}
	return "(none)"
}

// costChart draws each group's spend per step.
func costChart(rep costReport, by, step string) *chart {
	if len(rep.Items) == 0 {
		return nil
	}
	c := &chart{ID: "cost-chart", Title: "Spend per " + step + " by " + by + " (" + rep.Currency + ")", Unit: ""}
	layout := "Jan 2"
	if strings.HasSuffix(step, "h") {
		layout = "15:04"
	}
	for i, g := range rep.Items {
		sr := series{Name: keyName(g.Key, by)}
		for _, st := range g.Steps {
			if i == 0 {
				c.Labels = append(c.Labels, st.Start.UTC().Format(layout))
			}
			v, _ := strconv.ParseFloat(st.Cost, 64)
			sr.Values = append(sr.Values, v)
		}
		c.Series = append(c.Series, sr)
	}
	return c
}

// exportCosts relays the FOCUS export as a download, as the user.
func (p *Portal) exportCosts(w http.ResponseWriter, r *http.Request, s session) {
	q := url.Values{"format": {"focus"}, "window": {"month"}}
	if v := r.URL.Query().Get("window"); v != "" {
		q.Set("window", v)
	}
	if v := r.URL.Query().Get("team"); v != "" {
		q.Set("team", v)
	}
	raw, err := p.api.callAccept(r.Context(), s.Token, http.MethodGet, "/v1/costs/export", q, "text/csv")
	if err != nil {
		p.fail(w, r, s, err)
		return
	}
	w.Header().Set("Content-Type", "text/csv; charset=utf-8")
	w.Header().Set("Content-Disposition", `attachment; filename="pave-focus-`+q.Get("window")+`.csv"`)
	_, _ = w.Write(raw)
}
