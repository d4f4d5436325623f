package portal

import (
	"fmt"
	"maps"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"
)

type workload struct {
	ID          string           `json:"id"`
	Team        string           `json:"team"`
	Pool        string           `json:"pool"`
	Kind        string           `json:"kind"`
	State       string           `json:"state"`
	Reason      string           `json:"reason"`
	Position    int              `json:"position"`
	Demand      map[string]int64 `json:"demand"`
	Priority    int              `json:"priority"`
	Preemptible bool             `json:"preemptible"`
	Runner      string           `json:"runner"`
	ExitCode    *int             `json:"exit_code"`
	SubmittedBy string           `json:"submitted_by"`
	SubmittedAt time.Time        `json:"submitted_at"`
	AdmittedAt  time.Time        `json:"admitted_at"`
	EndedAt     time.Time        `json:"ended_at"`
}

type workloadList struct {
	Items      []workload `json:"items"`
	NextCursor string     `json:"next_cursor"`
}

type pool struct {
	Name     string                      `json:"name"`
	Capacity map[string]int64            `json:"capacity"`
	Used     map[string]int64            `json:"used"`
	Teams    map[string]map[string]int64 `json:"teams"`
	Queued   int                         `json:"queued"`
}

type poolList struct {
	Items []pool `json:"items"`
}

type quota struct {
	Name    string                      `json:"name"`
	Weight  float64                     `json:"weight"`
	Nominal map[string]map[string]int64 `json:"nominal"`
}

// usageRow is one team's use of one resource of a pool against its
// nominal quota there.
type usageRow struct {
	Pool, Team, Resource string
	Used, Nominal        int64
	Percent              int // of the nominal quota; 0 without one
}

type workloadsData struct {
	Me        whoami
	Pools     []pool
	Usage     []usageRow
	Queue     []workload // queued, by position
	List      workloadList
	Next      string
	Filter    url.Values
	Share     *chart // each team's weighted dominant share over time
	ShareNote string
	Form      url.Values
	Errors    map[string]string
	Problem   string
	LoadErrs  []string
}

// workloadActive are the states that hold capacity.
var workloadActive = map[string]bool{"admitted": true, "running": true}

func (p *Portal) workloads(w http.ResponseWriter, r *http.Request, s session) {
	p.showWorkloads(w, r, s, http.StatusOK, workloadsData{Form: url.Values{"pool": {"batch"}, "cpu": {"100"}, "memory": {"128"}}}, "")
}

func (p *Portal) showWorkloads(w http.ResponseWriter, r *http.Request, s session, status int, d workloadsData, notice string) {
	ctx := r.Context()
	if err := p.api.get(ctx, s.Token, "/v1/whoami", nil, &d.Me); err != nil {
		p.fail(w, r, s, err)
		return
	}
	var pl poolList
	if err := p.api.get(ctx, s.Token, "/v1/pools", nil, &pl); err != nil {
		d.LoadErrs = append(d.LoadErrs, "pools: "+err.Error())
	}
	d.Pools = pl.Items
	// Teams: mine, or, for a platform admin, every team using a pool.
	teams := slices.Clone(d.Me.Teams)
	for _, po := range d.Pools {
		for t := range po.Teams {
			if !slices.Contains(teams, t) {
				teams = append(teams, t)
			}
		}
	}
	slices.Sort(teams)
	quotas := map[string]quota{}
	for _, t := range teams {
		var q quota
		if err := p.api.get(ctx, s.Token, "/v1/quotas/"+seg(t), nil, &q); err != nil {
			if !isStatus(err, http.StatusNotFound, http.StatusForbidden) {
				d.LoadErrs = append(d.LoadErrs, "quota of "+t+": "+err.Error())
			}
			continue
		}
		quotas[t] = q
	}
	for _, po := range d.Pools {
		for _, t := range teams {
			q, hasQuota := quotas[t]
			used := po.Teams[t]
			if !hasQuota && len(used) == 0 {
				continue
			}
			for _, res := range slices.Sorted(maps.Keys(po.Capacity)) {
				row := usageRow{Pool: po.Name, Team: t, Resource: res, Used: used[res], Nominal: q.Nominal[po.Name][res]}
				if row.Nominal > 0 {
					row.Percent = int(row.Used * 100 / row.Nominal)
				}
				if row.Nominal == 0 && row.Used == 0 {
					continue
				}
				d.Usage = append(d.Usage, row)
			}
		}
	}
	// The list, filtered and paged as the API pages it.
	q := url.Values{"limit": {"50"}}
	d.Filter = url.Values{}
	for _, k := range []string{"cursor", "team", "pool", "state"} {
		if v := r.URL.Query().Get(k); v != "" {
			q.Set(k, v)
			if k != "cursor" {
				d.Filter.Set(k, v)
			}
		}
	}
	if err := p.api.get(ctx, s.Token, "/v1/workloads", q, &d.List); err != nil {
		d.LoadErrs = append(d.LoadErrs, "workloads: "+err.Error())
	}
	if d.List.NextCursor != "" {
		nq := url.Values{"cursor": {d.List.NextCursor}}
		for k, v := range d.Filter {
			nq[k] = v
		}
		d.Next = "/workloads?" + nq.Encode()
	}
	// The queue: every queued workload, by pool and position.
	var queued workloadList
	if err := p.api.get(ctx, s.Token, "/v1/workloads", url.Values{"state": {"queued"}, "limit": {"200"}}, &queued); err != nil {
		d.LoadErrs = append(d.LoadErrs, "queue: "+err.Error())
	}
	d.Queue = queued.Items
	slices.SortFunc(d.Queue, func(a, b workload) int {
		if c := strings.Compare(a.Pool, b.Pool); c != 0 {
			return c
		}
		return a.Position - b.Position
	})
	// The share over time, from the newest workloads' admissions.
	var recent workloadList
	if err := p.api.get(ctx, s.Token, "/v1/workloads", url.Values{"limit": {"500"}}, &recent); err != nil {
		d.LoadErrs = append(d.LoadErrs, "share: "+err.Error())
	}
	d.Share, d.ShareNote = shareChart(recent.Items, d.Pools, quotas, time.Now())
	p.render(w, r, status, "workloads", page{Title: "Workloads and pools", Nav: "workloads", SignedIn: true, User: d.Me.ID,
		CSRF: s.CSRF, Notice: notice, Data: d})
}

// shareChart draws each team's weighted dominant share over the last
// hour: at each of 13 instants, the largest fraction of any pool
// resource the team's admitted workloads held then, divided by the
// team's weight (the quantity the scheduler's fair share evens out).
// It is computed from the workloads the API lists (their demand,
// admission and end), so it covers jobs, not environment operations
// that leave no workload in the list.
func shareChart(ws []workload, pools []pool, quotas map[string]quota, now time.Time) (*chart, string) {
	capacity := map[string]map[string]int64{}
	for _, p := range pools {
		capacity[p.Name] = p.Capacity
	}
	const points = 13
	start := now.Add(-time.Hour)
	step := time.Hour / (points - 1)
	byTeam := map[string][]float64{}
	for _, w := range ws {
		if w.AdmittedAt.IsZero() {
			continue
		}
		if _, ok := byTeam[w.Team]; !ok {
			byTeam[w.Team] = make([]float64, points)
		}
	}
	if len(byTeam) == 0 {
		return nil, "No workload was admitted in the last hour."
	}
	labels := make([]string, points)
	for i := range points {
		at := start.Add(time.Duration(i) * step)
		labels[i] = at.UTC().Format("15:04")
		held := map[string]map[string]map[string]int64{} // team → pool → resource
		for _, w := range ws {
			if w.AdmittedAt.IsZero() || w.AdmittedAt.After(at) || (!w.EndedAt.IsZero() && !w.EndedAt.After(at)) {
				continue
			}
			if w.EndedAt.IsZero() && !workloadActive[w.State] {
				continue
			}
			if held[w.Team] == nil {
				held[w.Team] = map[string]map[string]int64{}
			}
			if held[w.Team][w.Pool] == nil {
				held[w.Team][w.Pool] = map[string]int64{}
			}
			for res, n := range w.Demand {
				held[w.Team][w.Pool][res] += n
			}
		}
		for team, byPool := range held {
			dominant := 0.0
			for pl, used := range byPool {
				for res, n := range used {
					if c := capacity[pl][res]; c > 0 {
						dominant = max(dominant, float64(n)/float64(c))
					}
				}
			}
			weight := quotas[team].Weight
			if weight <= 0 {
				weight = 1
			}
			byTeam[team][i] = 100 * dominant / weight
		}
	}
	c := &chart{ID: "share-chart", Title: "Weighted dominant share per team, last hour (%)", Unit: "%", Labels: labels}
	for _, t := range slices.Sorted(maps.Keys(byTeam)) {
		c.Series = append(c.Series, series{Name: t, Values: byTeam[t]})
	}
	return c, fmt.Sprintf("From the %d newest workloads' admissions and ends.", len(ws))
}

// submitWorkload submits a job; the API's field errors go beside their
// fields.
func (p *Portal) submitWorkload(w http.ResponseWriter, r *http.Request, s session) {
	f := r.PostForm
	body := map[string]any{"team": strings.TrimSpace(f.Get("team")), "pool": strings.TrimSpace(f.Get("pool")), "kind": "job"}
	errs := map[string]string{}
	demand := map[string]any{}
	for _, res := range []string{"cpu", "memory"} {
		v := strings.TrimSpace(f.Get(res))
		if v == "" {
			continue
		}
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil {
			errs["demand."+res] = "must be a whole number"
			continue
		}
		demand[res] = n
	}
	body["demand"] = demand
	if v := strings.TrimSpace(f.Get("priority")); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil {
			errs["priority"] = "must be a whole number"
		}
		body["priority"] = n
	}
	body["preemptible"] = f.Get("preemptible") == "true"
	args := strings.Fields(f.Get("command"))
	job := map[string]any{"command": ""}
	if len(args) > 0 {
		job["command"] = args[0]
		job["args"] = args[1:]
	}
	body["job"] = job
	if v := strings.TrimSpace(f.Get("max_runtime")); v != "" {
		body["max_runtime"] = v
	}
	if len(errs) > 0 {
		p.showWorkloads(w, r, s, http.StatusUnprocessableEntity, workloadsData{Form: f, Errors: errs,
			Problem: "Some fields are not valid."}, "")
		return
	}
	raw, err := p.api.call(r.Context(), s.Token, http.MethodPost, "/v1/workloads", nil, body)
	if pr, ok := err.(*Problem); ok && pr.Status < 500 && pr.Status != http.StatusUnauthorized {
		p.showWorkloads(w, r, s, pr.Status, workloadsData{Form: f, Errors: pr.ByField(), Problem: pr.Error()}, "")
		return
	}
	if err != nil {
		p.fail(w, r, s, err)
		return
	}
	_ = raw
	http.Redirect(w, r, "/workloads", http.StatusSeeOther)
}

// cancelWorkload cancels a workload with the reason given.
func (p *Portal) cancelWorkload(w http.ResponseWriter, r *http.Request, s session) {
	id := r.PathValue("id")
	var q url.Values
	if reason := strings.TrimSpace(r.PostFormValue("reason")); reason != "" {
		q = url.Values{"reason": {reason}}
	}
	_, err := p.api.call(r.Context(), s.Token, http.MethodDelete, "/v1/workloads/"+seg(id), q, nil)
	if pr, ok := err.(*Problem); ok && pr.Status < 500 && pr.Status != http.StatusUnauthorized {
		p.showWorkloads(w, r, s, pr.Status, workloadsData{Form: url.Values{"pool": {"batch"}},
			Problem: "Workload " + id + ": " + pr.Error()}, "")
		return
	}
	if err != nil {
		p.fail(w, r, s, err)
		return
	}
	http.Redirect(w, r, "/workloads", http.StatusSeeOther)
}
