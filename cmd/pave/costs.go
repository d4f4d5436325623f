package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"text/tabwriter"

	"github.com/shopspring/decimal"
)

const costsUsage = `Usage:
  pave costs [--window today|week|month|7d|START,END] [--by team,environment,...]
             [--step 1h|1d] [--team T] [--limit N]
                          spend, grouped by team, environment, template, stage,
                          resource, workload or label:<name>
  pave costs estimate --template X [--version V] [--param k=v ...]
                          what an environment would cost, per resource
  pave costs export [--window month]
                          FOCUS 1.2 CSV on stdout
  pave budgets [TEAM]     budgets: amount, spent, forecast, thresholds crossed
`

func runCosts(args []string, stdout io.Writer) error {
	sub := ""
	if len(args) > 0 && (args[0] == "estimate" || args[0] == "export") {
		sub, args = args[0], args[1:]
	}
	fs := newFlagSet(strings.TrimSpace("pave costs "+sub), costsUsage, stdout)
	cf := addClientFlags(fs)
	switch sub {
	case "estimate":
		return costEstimate(fs, cf, args, stdout)
	case "export":
		window := fs.String("window", "month", "today, week, month, 7d or START,END (RFC 3339)")
		_, c, err := parseWithClient(fs, cf, args, 0, "no arguments")
		if err != nil {
			return err
		}
		var raw json.RawMessage
		if err := c.do(http.MethodGet, "/v1/costs/export?"+url.Values{"format": {"focus"}, "window": {*window}}.Encode(), nil, &raw); err != nil {
			return err
		}
		_, err = stdout.Write(raw)
		return err
	}
	window := fs.String("window", "today", "today, week, month, 7d or START,END (RFC 3339)")
	by := fs.String("by", "", "group by these keys, comma-separated: team, environment, template, stage, resource, workload, label:<name>")
	step := fs.String("step", "", "also split each group into steps of 1h or 1d")
	team := fs.String("team", "", "only this team's spend (groups by team)")
	limit := fs.Int("limit", 0, "at most this many groups (1-1000; default the server's 100)")
	_, c, err := parseWithClient(fs, cf, args, 0, "no arguments")
	if err != nil {
		return err
	}
	agg := *by
	if *team != "" && !strings.Contains(","+agg+",", ",team,") {
		agg = strings.Trim("team,"+agg, ",")
	}
	q := url.Values{"window": {*window}}
	for k, v := range map[string]string{"aggregate": agg, "step": *step} {
		if v != "" {
			q.Set(k, v)
		}
	}
	if *limit != 0 {
		q.Set("limit", strconv.Itoa(*limit))
	}
	var raw json.RawMessage
	if err := c.do(http.MethodGet, "/v1/costs?"+q.Encode(), nil, &raw); err != nil {
		return err
	}
	if *team != "" {
		if raw, err = onlyTeam(raw, *team); err != nil {
			return err
		}
	}
	if !c.table(stdout) {
		return printRaw(stdout, raw)
	}
	return costTable(stdout, raw)
}

// onlyTeam keeps the groups of one team and sums their total (the API
// has no team filter: a caller sees the teams it belongs to).
func onlyTeam(raw json.RawMessage, team string) (json.RawMessage, error) {
	var res map[string]any
	if err := json.Unmarshal(raw, &res); err != nil {
		return nil, fmt.Errorf("decoding costs: %w", err)
	}
	items, _ := res["items"].([]any)
	kept := []any{}
	total := decimal.Zero
	for _, it := range items {
		if lookup(it, "key.team") != team {
			continue
		}
		kept = append(kept, it)
		d, err := decimal.NewFromString(cell(lookup(it, "total")))
		if err != nil {
			return nil, fmt.Errorf("decoding costs: total of %v: %w", lookup(it, "key"), err)
		}
		total = total.Add(d)
	}
	places := 2
	if s := cell(res["total"]); strings.Contains(s, ".") {
		places = len(s) - strings.Index(s, ".") - 1
	}
	res["items"], res["total"], res["team"] = kept, total.StringFixed(int32(places)), team
	return json.Marshal(res)
}

func costTable(w io.Writer, raw json.RawMessage) error {
	var res map[string]any
	if err := json.Unmarshal(raw, &res); err != nil {
		return fmt.Errorf("decoding costs: %w", err)
	}
	currency := cell(res["currency"])
	var columns []column
	keys, _ := res["aggregate"].([]any)
	for _, k := range keys {
		columns = append(columns, column{strings.ToUpper(cell(k)), "key." + cell(k)})
	}
	columns = append(columns, column{"TOTAL (" + currency + ")", "total"})
	items, _ := res["items"].([]any)
	if len(items) > 0 {
		if err := listTable(w, items, columns); err != nil {
			return err
		}
		fmt.Fprintln(w)
	}
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintf(tw, "total:\t%s %s\n", cell(res["total"]), currency)
	fmt.Fprintf(tw, "window:\t%s to %s\n", cell(lookup(res, "window.start")), cell(lookup(res, "window.end")))
	if n, _ := res["omitted"].(float64); n > 0 {
		fmt.Fprintf(tw, "omitted:\t%d more groups (raise --limit)\n", int(n))
	}
	return tw.Flush()
}

func costEstimate(fs *flag.FlagSet, cf *clientFlags, args []string, stdout io.Writer) error {
	template := fs.String("template", "", "template (required)")
	version := fs.String("version", "", "template version (default: the latest)")
	params := paramFlag{}
	fs.Var(params, "param", "template parameter name=value (repeatable)")
	_, c, err := parseWithClient(fs, cf, args, 0, "no arguments")
	if err != nil {
		return err
	}
	if *template == "" {
		return usagef("costs estimate: --template is required")
	}
	body := map[string]any{"template": *template}
	if *version != "" {
		body["version"] = *version
	}
	if len(params) > 0 {
		typed, err := c.typedParams(*template, *version, params)
		if err != nil {
			return err
		}
		body["parameters"] = typed
	}
	var raw json.RawMessage
	if err := c.do(http.MethodPost, "/v1/costs/estimate", body, &raw); err != nil {
		return err
	}
	if !c.table(stdout) {
		return printRaw(stdout, raw)
	}
	var est map[string]any
	if err := json.Unmarshal(raw, &est); err != nil {
		return fmt.Errorf("decoding the estimate: %w", err)
	}
	resources, _ := est["resources"].([]any)
	if err := listTable(stdout, resources, cols("RESOURCE=name", "driver", "class", "HOURLY=hourly", "MONTHLY=monthly")); err != nil {
		return err
	}
	_, err = fmt.Fprintf(stdout, "\n%s %s: %s %s an hour, %s %s a month\n", cell(est["template"]), cell(est["version"]),
		cell(est["hourly"]), cell(est["currency"]), cell(est["monthly"]), cell(est["currency"]))
	return err
}

const budgetsUsage = `Usage:
  pave budgets [TEAM]     budgets: amount, spent, forecast, remaining, thresholds crossed
`

func runBudgets(args []string, stdout io.Writer) error {
	fs := newFlagSet("pave budgets", budgetsUsage, stdout)
	cf := addClientFlags(fs)
	a, err := parseFlags(fs, args)
	if err != nil {
		return err
	}
	if len(a) > 1 {
		return usagef("budgets: at most one TEAM")
	}
	c, err := cf.client()
	if err != nil {
		return err
	}
	path := "/v1/budgets"
	if len(a) == 1 {
		path += "/" + url.PathEscape(a[0])
	}
	return c.call(stdout, http.MethodGet, path, nil, cols("team", "period", "amount", "spent", "committed",
		"forecast", "remaining", "currency", "thresholds", "crossed", "policy"))
}
