package portal

import (
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
)

type auditRecord struct {
	ID        string            `json:"id"`
	Time      time.Time         `json:"time"`
	Kind      string            `json:"kind"`
	Actor     string            `json:"actor"`
	ActorKind string            `json:"actor_kind"`
	Team      string            `json:"team"`
	Action    string            `json:"action"`
	Resource  string            `json:"resource"`
	Decision  string            `json:"decision"`
	Route     string            `json:"route"`
	Details   map[string]string `json:"details"`
}

type auditList struct {
	Items []auditRecord `json:"items"`
}

type auditVerification struct {
	OK       bool   `json:"ok"`
	Records  int    `json:"records"`
	LastHash string `json:"last_hash"`
	Broken   *struct {
		Seq    uint64 `json:"seq"`
		ID     string `json:"id"`
		Reason string `json:"reason"`
	} `json:"broken"`
}

// auditSpans are how far back one page of the ledger reaches.
var auditSpans = []struct{ Value, Label string }{{"1h", "an hour"}, {"24h", "a day"}, {"168h", "a week"}}

const (
	auditPage  = 100   // records on a page
	auditLimit = 10000 // the API's most per query
)

type auditData struct {
	Records   []auditRecord
	Filter    url.Values
	Spans     any
	Since     time.Time
	Until     time.Time
	Older     string
	Truncated bool // the span held more than auditLimit records
	Verify    *auditVerification
	VerifyErr string
	LoadErr   string
}

// audit is the ledger newest first, as the API answers it: a page asks
// for one span (ending at ?until=, default now), shows its newest
// records, and the "older" link moves the span back.
func (p *Portal) audit(w http.ResponseWriter, r *http.Request, s session) {
	in := r.URL.Query()
	d := auditData{Filter: url.Values{}, Spans: auditSpans}
	for _, k := range []string{"team", "actor", "action"} {
		if v := strings.TrimSpace(in.Get(k)); v != "" {
			d.Filter.Set(k, v)
		}
	}
	span := time.Hour
	if v := in.Get("span"); v != "" {
		if dur, err := time.ParseDuration(v); err == nil && dur > 0 && dur <= 31*24*time.Hour {
			span = dur
		}
	}
	d.Filter.Set("span", strconv.FormatFloat(span.Hours(), 'f', -1, 64)+"h")
	d.Until = time.Now().UTC().Add(time.Second).Truncate(time.Second)
	if v := in.Get("until"); v != "" {
		t, err := time.Parse(time.RFC3339Nano, v)
		if err != nil {
			p.render(w, r, http.StatusBadRequest, "error", page{Title: "Bad Request", SignedIn: true, CSRF: s.CSRF,
				Error: "until: not an RFC 3339 time"})
			return
		}
		d.Until = t
	}
	d.Since = d.Until.Add(-span)
	q := url.Values{"since": {d.Since.Format(time.RFC3339Nano)}, "until": {d.Until.Format(time.RFC3339Nano)},
		"limit": {strconv.Itoa(auditLimit)}}
	for _, k := range []string{"team", "actor", "action"} {
		if v := d.Filter.Get(k); v != "" {
			q.Set(k, v)
		}
	}
	var l auditList
	if err := p.api.get(r.Context(), s.Token, "/v1/audit", q, &l); err != nil {
		if isStatus(err, http.StatusUnauthorized) {
			p.fail(w, r, s, err)
			return
		}
		d.LoadErr = err.Error()
	}
	d.Truncated = len(l.Items) >= auditLimit
	older := d.Since
	if len(l.Items) > auditPage {
		older = l.Items[auditPage-1].Time
		l.Items = l.Items[:auditPage]
	}
	d.Records = l.Items
	oq := url.Values{"until": {older.Format(time.RFC3339Nano)}}
	for k, v := range d.Filter {
		oq[k] = v
	}
	d.Older = "/audit?" + oq.Encode()
	if in.Get("verify") == "true" {
		var v auditVerification
		if err := p.api.get(r.Context(), s.Token, "/v1/audit/verify", nil, &v); err != nil {
			d.VerifyErr = err.Error()
		} else {
			d.Verify = &v
		}
	}
	p.render(w, r, http.StatusOK, "audit", page{Title: "Audit", Nav: "audit", SignedIn: true, CSRF: s.CSRF, Data: d})
}
