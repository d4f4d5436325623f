package portal

import (
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
)

type gates struct {
	CI           bool   `json:"ci"`
	Approvals    int    `json:"approvals"`
	ApproverRole string `json:"approver_role"`
}

type pipelineStage struct {
	Name        string `json:"name"`
	Environment string `json:"environment"`
	Gates       gates  `json:"gates"`
}

type application struct {
	Name       string          `json:"name"`
	Team       string          `json:"team"`
	Repository string          `json:"repository"`
	Stages     []pipelineStage `json:"stages"`
	Candidate  *struct {
		Commit string    `json:"commit"`
		Branch string    `json:"branch"`
		Sender string    `json:"sender"`
		At     time.Time `json:"at"`
	} `json:"candidate"`
}

type applicationList struct {
	Items      []application `json:"items"`
	NextCursor string        `json:"next_cursor"`
}

type gateResult struct {
	Gate   string `json:"gate"`
	Passed bool   `json:"passed"`
	Detail string `json:"detail"`
}

type promotion struct {
	ID               string       `json:"id"`
	Application      string       `json:"application"`
	FromStage        string       `json:"from_stage"`
	ToStage          string       `json:"to_stage"`
	SourceRevision   int          `json:"source_revision"`
	EnvironmentID    string       `json:"environment_id"`
	Commit           string       `json:"commit"`
	PreviousRevision int          `json:"previous_revision"`
	AppliedRevision  int          `json:"applied_revision"`
	By               string       `json:"by"`
	State            string       `json:"state"`
	Reason           string       `json:"reason"`
	Required         gates        `json:"required"`
	Gates            []gateResult `json:"gates"`
	Approvals        []struct {
		By   string    `json:"by"`
		Role string    `json:"role"`
		At   time.Time `json:"at"`
	} `json:"approvals"`
	CreatedAt time.Time `json:"created_at"`
}

type promotionList struct {
	Items      []promotion `json:"items"`
	NextCursor string      `json:"next_cursor"`
}

// stageView is a stage of an application with the newest promotion into
// it: its gates' state for the revision it carried.
type stageView struct {
	pipelineStage
	Latest *promotion
}

type appView struct {
	App     application
	Stages  []stageView
	History []promotion
	More    bool
	LoadErr string
}

type promotionsData struct {
	Apps    []appView
	Next    string
	Form    url.Values
	FormApp string
	Errors  map[string]string
	Problem string
	LoadErr string
}

func (p *Portal) promotions(w http.ResponseWriter, r *http.Request, s session) {
	p.showPromotions(w, r, s, http.StatusOK, promotionsData{}, "")
}

func (p *Portal) showPromotions(w http.ResponseWriter, r *http.Request, s session, status int, d promotionsData, notice string) {
	ctx := r.Context()
	q := url.Values{"limit": {"20"}}
	if c := r.URL.Query().Get("cursor"); c != "" {
		q.Set("cursor", c)
	}
	var al applicationList
	if err := p.api.get(ctx, s.Token, "/v1/applications", q, &al); err != nil {
		if isStatus(err, http.StatusUnauthorized) {
			p.fail(w, r, s, err)
			return
		}
		d.LoadErr = err.Error()
	}
	if al.NextCursor != "" {
		d.Next = "/promotions?" + url.Values{"cursor": {al.NextCursor}}.Encode()
	}
	for _, a := range al.Items {
		v := appView{App: a}
		var one application
		if err := p.api.get(ctx, s.Token, "/v1/applications/"+seg(a.Name), nil, &one); err == nil {
			v.App = one // with its candidate
		}
		var pl promotionList
		if err := p.api.get(ctx, s.Token, "/v1/promotions", url.Values{"application": {a.Name}, "limit": {"20"}}, &pl); err != nil {
			v.LoadErr = err.Error()
		}
		v.History, v.More = pl.Items, pl.NextCursor != ""
		for _, st := range v.App.Stages {
			sv := stageView{pipelineStage: st}
			for i := range v.History { // newest first
				if v.History[i].ToStage == st.Name {
					sv.Latest = &v.History[i]
					break
				}
			}
			v.Stages = append(v.Stages, sv)
		}
		d.Apps = append(d.Apps, v)
	}
	p.render(w, r, status, "promotions", page{Title: "Promotions", Nav: "promotions", SignedIn: true, CSRF: s.CSRF,
		Notice: notice, Data: d})
}

// promote asks for a promotion of an application into a stage.
func (p *Portal) promote(w http.ResponseWriter, r *http.Request, s session) {
	f := r.PostForm
	body := map[string]any{"application": f.Get("application"), "to": f.Get("to")}
	errs := map[string]string{}
	if v := strings.TrimSpace(f.Get("revision")); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil {
			errs["revision"] = "must be a whole number"
		}
		body["revision"] = n
	}
	if v := strings.TrimSpace(f.Get("commit")); v != "" {
		body["commit"] = v
	}
	if len(errs) > 0 {
		p.showPromotions(w, r, s, http.StatusUnprocessableEntity, promotionsData{Form: f, FormApp: f.Get("application"),
			Errors: errs, Problem: "Some fields are not valid."}, "")
		return
	}
	_, err := p.api.call(r.Context(), s.Token, http.MethodPost, "/v1/promotions", nil, body)
	if pr, ok := err.(*Problem); ok && pr.Status < 500 && pr.Status != http.StatusUnauthorized {
		p.showPromotions(w, r, s, pr.Status, promotionsData{Form: f, FormApp: f.Get("application"), Errors: pr.ByField(),
			Problem: pr.Error()}, "")
		return
	}
	if err != nil {
		p.fail(w, r, s, err)
		return
	}
	http.Redirect(w, r, "/promotions", http.StatusSeeOther)
}

// approvePromotion approves a promotion waiting for approvals.
func (p *Portal) approvePromotion(w http.ResponseWriter, r *http.Request, s session) {
	id := r.PathValue("id")
	_, err := p.api.call(r.Context(), s.Token, http.MethodPost, "/v1/promotions/"+seg(id)+"/approve", nil, map[string]any{})
	if pr, ok := err.(*Problem); ok && pr.Status < 500 && pr.Status != http.StatusUnauthorized {
		p.showPromotions(w, r, s, pr.Status, promotionsData{Problem: "Promotion " + id + ": " + pr.Error()}, "")
		return
	}
	if err != nil {
		p.fail(w, r, s, err)
		return
	}
	http.Redirect(w, r, "/promotions", http.StatusSeeOther)
}
