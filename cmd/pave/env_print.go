package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"sort"
	"strings"
	"text/tabwriter"
	"time"
)

// progress prints an environment's progress as one line per change:
// state transitions, the admission queue, saga steps (one per resource)
// and resource states.
type progress struct {
	w io.Writer
	// lines: JSON lines, one per message, instead of text (pave env
	// events -o json).
	lines     bool
	state     string
	seen      bool
	waiting   string
	resources map[string]string
	sagas     map[string]*sagaSeen
	last      []byte
	noted     bool
}

type sagaSeen struct {
	seq    int
	status string
	steps  map[string]string
}

func newProgress(w io.Writer, lines bool) *progress {
	return &progress{w: w, lines: lines, resources: map[string]string{}, sagas: map[string]*sagaSeen{}}
}

func (p *progress) line(at time.Time, kind, text string) {
	if at.IsZero() {
		at = time.Now()
	}
	fmt.Fprintf(p.w, "%s  %-8s %s\n", at.Local().Format("15:04:05"), kind, text)
}

// note says something about the watch itself, once.
func (p *progress) note(s string) {
	if p.noted {
		return
	}
	p.noted = true
	if p.lines {
		_ = json.NewEncoder(p.w).Encode(map[string]string{"note": s})
		return
	}
	p.line(time.Time{}, "note", s)
}

func (p *progress) message(m sseMessage) {
	if p.lines {
		if m.Event == "snapshot" && bytes.Equal(p.last, m.Data) {
			return
		}
		p.last = append(p.last[:0], m.Data...)
		raw, err := json.Marshal(m)
		if err == nil {
			fmt.Fprintf(p.w, "%s\n", raw)
		}
		return
	}
	switch m.Event {
	case "snapshot":
		p.snapshot(m.Data)
	case "transitioned":
		p.transitioned(m.Data)
	case "progressed":
		p.progressed(m.Data)
	case "end":
		var e struct {
			State string `json:"state"`
		}
		_ = json.Unmarshal(m.Data, &e)
		if p.seen && e.State != "" && e.State != p.state {
			// The transition may come after the end: say it here.
			p.line(time.Time{}, "state", p.state+" → "+e.State)
			p.state = e.State
		}
		p.line(time.Time{}, "end", e.State)
	}
}

func (p *progress) snapshot(raw json.RawMessage) {
	var env struct {
		State     string `json:"state"`
		Reason    string `json:"reason"`
		Admission struct {
			Waiting  string `json:"waiting"`
			Position int    `json:"position"`
		} `json:"admission"`
		Resources []struct {
			Name, Driver, State string
		} `json:"resources"`
	}
	if json.Unmarshal(raw, &env) != nil {
		return
	}
	switch {
	case !p.seen:
		p.line(time.Time{}, "state", withReason(env.State, env.Reason))
	case env.State != p.state:
		p.line(time.Time{}, "state", withReason(p.state+" → "+env.State, env.Reason))
	}
	p.seen, p.state = true, env.State
	if w := env.Admission.Waiting; w != "" && w != p.waiting {
		if env.Admission.Position > 0 {
			w += fmt.Sprintf(" (position %d)", env.Admission.Position)
		}
		p.line(time.Time{}, "queue", w)
	}
	p.waiting = env.Admission.Waiting
	for _, r := range env.Resources {
		if before, ok := p.resources[r.Name]; ok && before != r.State {
			p.line(time.Time{}, "resource", fmt.Sprintf("%s (%s): %s → %s", r.Name, r.Driver, before, r.State))
		}
		p.resources[r.Name] = r.State
	}
}

func (p *progress) transitioned(raw json.RawMessage) {
	var t struct {
		From, To, Reason string
		At               time.Time
	}
	if json.Unmarshal(raw, &t) != nil || (p.seen && t.To == p.state) {
		return
	}
	from := t.From
	if from == "" {
		from = "new"
	}
	p.line(t.At, "state", withReason(from+" → "+t.To, t.Reason))
	p.seen, p.state = true, t.To
}

func (p *progress) progressed(raw json.RawMessage) {
	var s struct {
		SagaID     string `json:"saga_id"`
		Definition string
		Seq        int
		Status     string
		Reason     string
		At         time.Time
		Steps      []struct {
			Name, Status, Error string
			Attempts            int
			UndoAttempts        int `json:"undo_attempts"`
		}
	}
	if json.Unmarshal(raw, &s) != nil {
		return
	}
	seen := p.sagas[s.SagaID]
	if seen == nil {
		seen = &sagaSeen{steps: map[string]string{}}
		p.sagas[s.SagaID] = seen
		p.line(s.At, "saga", s.Definition+" started")
	}
	if s.Seq <= seen.seq {
		return
	}
	seen.seq = s.Seq
	for _, st := range s.Steps {
		if st.Status == seen.steps[st.Name] || (st.Status == "pending" && seen.steps[st.Name] == "") {
			continue
		}
		seen.steps[st.Name] = st.Status
		text := st.Name + ": " + st.Status
		if st.Attempts > 1 && (st.Status == "running" || st.Status == "failed") {
			text += fmt.Sprintf(" (attempt %d)", st.Attempts)
		}
		if st.Error != "" && (st.Status == "failed" || st.Status == "compensating" || st.Status == "running") {
			text += ": " + st.Error
		}
		p.line(s.At, "step", text)
	}
	if s.Status != seen.status && s.Status != "running" {
		p.line(s.At, "saga", withReason(s.Definition+" "+s.Status, s.Reason))
	}
	seen.status = s.Status
}

func withReason(s, reason string) string {
	if reason == "" {
		return s
	}
	return s + ": " + reason
}

// envSummary is an environment as people read it: what, where, its
// resources with their outputs, and where the credentials are.
func envSummary(w io.Writer, raw json.RawMessage, credentials bool) error {
	var env map[string]any
	if err := json.Unmarshal(raw, &env); err != nil {
		return fmt.Errorf("decoding the environment: %w", err)
	}
	id := cell(env["id"])
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintf(tw, "environment:\t%s (%s/%s)\n", id, cell(env["team"]), cell(env["name"]))
	fmt.Fprintf(tw, "template:\t%s %s, stage %s, revision %s\n", cell(env["template"]), cell(env["version"]),
		cell(env["stage"]), cell(env["revision"]))
	fmt.Fprintf(tw, "state:\t%s\n", withReason(cell(env["state"]), cell(env["reason"])))
	if op, ok := env["operation"].(map[string]any); ok {
		fmt.Fprintf(tw, "operation:\t%s %s since %s\n", cell(op["kind"]), cell(op["id"]), cell(op["started_at"]))
	}
	if wait := cell(lookup(env, "admission.waiting")); wait != "" {
		fmt.Fprintf(tw, "waiting:\t%s\n", wait)
	}
	if exp := cell(env["expires_at"]); exp != "" {
		fmt.Fprintf(tw, "expires:\t%s (pave env extend %s --ttl 4h | --keep)\n", exp, id)
	}
	if commit := cell(env["commit"]); commit != "" {
		fmt.Fprintf(tw, "commit:\t%s\n", commit)
	}
	if params := cell(env["parameters"]); params != "" {
		fmt.Fprintf(tw, "parameters:\t%s\n", params)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	resources, _ := env["resources"].([]any)
	if len(resources) == 0 {
		return nil
	}
	fmt.Fprintln(w)
	if err := listTable(w, resources, cols("RESOURCE=name", "DRIVER=driver", "CLASS=class", "STATE=state", "OUTPUTS=outputs")); err != nil {
		return err
	}
	return credentialLines(w, id, resources, credentials)
}

// credentialLines says where the logins are, or shows them when asked.
// The API answers logins only when asked for (?credentials=true), so
// unasked the hint names every ready resource.
func credentialLines(w io.Writer, id string, resources []any, show bool) error {
	var names []string
	creds := map[string]map[string]any{}
	for _, r := range resources {
		m, _ := r.(map[string]any)
		if c, ok := m["credentials"].(map[string]any); ok {
			names = append(names, cell(m["name"]))
			creds[cell(m["name"])] = c
		} else if !show && m["state"] == "ready" {
			names = append(names, cell(m["name"]))
		}
	}
	if len(names) == 0 {
		return nil
	}
	sort.Strings(names)
	fmt.Fprintln(w)
	if !show {
		_, err := fmt.Fprintf(w, "credentials for %s: pave env get %s --credentials (or GET /v1/environments/%s?credentials=true)\n",
			strings.Join(names, ", "), id, id)
		return err
	}
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	for _, n := range names {
		fmt.Fprintf(tw, "credentials %s:\t%s\n", n, cell(creds[n]))
	}
	return tw.Flush()
}
