package main

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"strings"
	"text/tabwriter"
	"time"
)

const eventsUsage = `Usage:
  pave events types [list] [--team T]   event types: Pave's and the teams' custom ones
  pave events types create --team T --type pave.custom.T.NAME.v1 --schema FILE [--description D]
  pave events types delete TYPE
`

const automationsUsage = `Usage:
  pave automations list [--team T]
  pave automations get ID          an automation (<team>.<name>)
  pave automations create --file F an automation from a JSON file (see POST /v1/automations)
  pave automations delete ID
  pave automations runs ID [--limit N]
                                   its runs, newest first, and why a failed one failed
`

const doraUsage = `Usage:
  pave dora --team T [--application A] [--from RFC3339] [--to RFC3339]
        deployment frequency, lead time, change failure rate and time to
        restore (default window: the last 30 days)
`

func runEvents(args []string, stdout io.Writer) error {
	if len(args) == 0 || args[0] != "types" {
		fs := newFlagSet("pave events", eventsUsage, stdout)
		if _, err := parseFlags(fs, args); err != nil {
			return err
		}
		return usagef("pave events: say 'types' (see 'pave events -h')")
	}
	args = args[1:]
	sub := "list"
	if len(args) > 0 && !strings.HasPrefix(args[0], "-") {
		sub, args = args[0], args[1:]
	}
	fs := newFlagSet("pave events types "+sub, eventsUsage, stdout)
	cf := addClientFlags(fs)
	switch sub {
	case "list":
		team := fs.String("team", "", "only this team's custom types")
		_, c, err := parseWithClient(fs, cf, args, 0, "no arguments")
		if err != nil {
			return err
		}
		var raw json.RawMessage
		if err := c.do(http.MethodGet, "/v1/events/types", nil, &raw); err != nil {
			return err
		}
		if *team != "" {
			raw = onlyPrefix(raw, "pave.custom."+*team+".")
		}
		return c.show(stdout, raw, cols("type", "subject"))
	case "create":
		team := fs.String("team", "", "the team whose namespace the type is in (required)")
		typ := fs.String("type", "", "pave.custom.<team>.<name>.v<N> (required)")
		file := fs.String("schema", "", "a JSON Schema file (draft 2020-12) of the events' data (required)")
		desc := fs.String("description", "", "what the events say")
		_, c, err := parseWithClient(fs, cf, args, 0, "no arguments")
		if err != nil {
			return err
		}
		if *team == "" || *typ == "" || *file == "" {
			return usagef("pave events types create: --team, --type and --schema are required")
		}
		raw, err := os.ReadFile(*file)
		if err != nil {
			return usagef("pave events types create: --schema: %v", err)
		}
		if !json.Valid(raw) {
			return usagef("pave events types create: --schema %s is not JSON", *file)
		}
		return c.call(stdout, http.MethodPost, "/v1/events/types", map[string]any{"team": *team, "type": *typ,
			"description": *desc, "schema": json.RawMessage(raw)}, nil)
	case "delete":
		a, c, err := parseWithClient(fs, cf, args, 1, "TYPE")
		if err != nil {
			return err
		}
		return c.call(stdout, http.MethodDelete, "/v1/events/types/"+url.PathEscape(a[0]), nil, nil)
	}
	return usagef("pave events types: unknown command %q (see 'pave events -h')", sub)
}

func runAutomations(args []string, stdout io.Writer) error {
	sub := "list"
	if len(args) > 0 && !strings.HasPrefix(args[0], "-") {
		sub, args = args[0], args[1:]
	}
	fs := newFlagSet("pave automations "+sub, automationsUsage, stdout)
	cf := addClientFlags(fs)
	switch sub {
	case "list":
		team := fs.String("team", "", "only this team's automations")
		_, c, err := parseWithClient(fs, cf, args, 0, "no arguments")
		if err != nil {
			return err
		}
		path := "/v1/automations"
		if *team != "" {
			path += "?" + url.Values{"team": {*team}}.Encode()
		}
		return c.call(stdout, http.MethodGet, path, nil, cols("id", "on.type", "do.action", "service_account", "origin"))
	case "get", "delete":
		a, c, err := parseWithClient(fs, cf, args, 1, "ID")
		if err != nil {
			return err
		}
		method := map[string]string{"get": http.MethodGet, "delete": http.MethodDelete}[sub]
		return c.call(stdout, method, "/v1/automations/"+url.PathEscape(a[0]), nil, nil)
	case "create":
		file := fs.String("file", "", "the automation as JSON (required)")
		_, c, err := parseWithClient(fs, cf, args, 0, "no arguments")
		if err != nil {
			return err
		}
		raw, err := os.ReadFile(*file)
		if err != nil {
			return usagef("pave automations create: --file: %v", err)
		}
		if !json.Valid(raw) {
			return usagef("pave automations create: --file %s is not JSON", *file)
		}
		return c.call(stdout, http.MethodPost, "/v1/automations", json.RawMessage(raw), nil)
	case "runs":
		limit := fs.Int("limit", 100, "at most this many runs (1-1000)")
		a, c, err := parseWithClient(fs, cf, args, 1, "ID")
		if err != nil {
			return err
		}
		return c.call(stdout, http.MethodGet, fmt.Sprintf("/v1/automations/%s/runs?limit=%d", url.PathEscape(a[0]), *limit), nil,
			cols("started_at", "event_id", "state", "status", "reason"))
	}
	return usagef("pave automations: unknown command %q (see 'pave automations -h')", sub)
}

func runDora(args []string, stdout io.Writer) error {
	fs := newFlagSet("pave dora", doraUsage, stdout)
	cf := addClientFlags(fs)
	team := fs.String("team", "", "team (required)")
	app := fs.String("application", "", "one application (default: the whole team)")
	from := fs.String("from", "", "window start, RFC 3339 (default: 30 days before --to)")
	to := fs.String("to", "", "window end, RFC 3339 (default: now)")
	_, c, err := parseWithClient(fs, cf, args, 0, "no arguments")
	if err != nil {
		return err
	}
	if *team == "" {
		return usagef("pave dora: --team is required")
	}
	q := url.Values{"team": {*team}}
	for k, v := range map[string]string{"application": *app, "from": *from, "to": *to} {
		if v != "" {
			q.Set(k, v)
		}
	}
	var raw json.RawMessage
	if err := c.do(http.MethodGet, "/v1/dora?"+q.Encode(), nil, &raw); err != nil {
		return err
	}
	if !c.table(stdout) {
		return printRaw(stdout, raw)
	}
	var out struct {
		From, To time.Time
		Metrics  struct {
			Deployments    int      `json:"deployments"`
			PerDay         float64  `json:"deployment_frequency_per_day"`
			Lead           *float64 `json:"lead_time_seconds"`
			Failed         int      `json:"failed_deployments"`
			CFR            *float64 `json:"change_failure_rate"`
			Restore        *float64 `json:"time_to_restore_seconds"`
			LeadSamples    int      `json:"lead_time_samples"`
			RestoreSamples int      `json:"time_to_restore_samples"`
		} `json:"metrics"`
	}
	if err := json.Unmarshal(raw, &out); err != nil {
		return fmt.Errorf("decoding the answer: %w", err)
	}
	m := out.Metrics
	tw := tabwriter.NewWriter(stdout, 0, 0, 2, ' ', 0)
	fmt.Fprintf(tw, "window\t%s – %s\n", out.From.Format(time.RFC3339), out.To.Format(time.RFC3339))
	fmt.Fprintf(tw, "deployment frequency\t%d production deployments, %.2f a day\n", m.Deployments, m.PerDay)
	fmt.Fprintf(tw, "lead time for changes\t%s (median of %d)\n", seconds(m.Lead), m.LeadSamples)
	cfr := "n/a (no deployments)"
	if m.CFR != nil {
		cfr = fmt.Sprintf("%.0f%% (%d of %d)", *m.CFR*100, m.Failed, m.Deployments)
	}
	fmt.Fprintf(tw, "change failure rate\t%s\n", cfr)
	fmt.Fprintf(tw, "time to restore\t%s (median of %d)\n", seconds(m.Restore), m.RestoreSamples)
	return tw.Flush()
}

func seconds(s *float64) string {
	if s == nil {
		return "n/a"
	}
	return (time.Duration(*s) * time.Second).String()
}

// onlyPrefix keeps the list items whose type starts with prefix.
func onlyPrefix(raw json.RawMessage, prefix string) json.RawMessage {
	var v struct {
		Items []map[string]any `json:"items"`
	}
	if json.Unmarshal(raw, &v) != nil {
		return raw
	}
	keep := []map[string]any{}
	for _, it := range v.Items {
		if t, _ := it["type"].(string); strings.HasPrefix(t, prefix) {
			keep = append(keep, it)
		}
	}
	out, err := json.Marshal(map[string]any{"items": keep})
	if err != nil {
		return raw
	}
	return out
}
