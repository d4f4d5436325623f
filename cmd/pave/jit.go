package main

import (
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
)

const jitUsage = `Usage:
  pave access request --role R --team T [--environment ID | --stage S] --duration 1h --reason "..." [--starts-at RFC3339]
  pave access request --teardown --team T --environment ID --duration 1h --reason "..."
                                              ask a second person to approve tearing down a persistent prod environment
  pave access list [--team T] [--state pending|approved|denied|expired]
  pave access get ID
  pave access approve ID [--reason "..."]
  pave access deny ID --reason "..."
  pave access grants [--team T] [--active]
  pave access revoke GRANT_ID                 end a grant early (team maintainers)
  pave access end GRANT_ID                    end your own grant early (its holder)
  pave access break-glass --incident INC-1 --reason "..." --team T --environment ID | --stage S [--role maintainer] [--duration 1h]
                                              roles and scopes: PAVE_ACCESS_BREAK_GLASS_ROLES; opens a review
  pave access reviews create --team T --deadline RFC3339
  pave access reviews list [--team T] | get ID | export ID [--format json|csv]
  pave access reviews decide ID ITEM_ID keep|revoke
                                              ITEM_ID: a grant id, member:USER, service-account:TEAM/NAME or a token id;
                                              nobody decides on their own access

Flags of every command: --server, --token-file, --config, -o table|json.
`

func runJIT(args []string, stdout io.Writer) error {
	fs := newFlagSet("pave access", jitUsage, stdout)
	cl := newClient(fs)
	role := fs.String("role", "", "request, break-glass: the team role (viewer, developer, maintainer; admin is never granted)")
	team := fs.String("team", "", "the team")
	envID := fs.String("environment", "", "scope: one environment (its id)")
	stage := fs.String("stage", "", "scope: every environment of a stage")
	duration := fs.String("duration", "", "how long the grant lasts (e.g. 1h)")
	reason := fs.String("reason", "", "why (required for request, deny, break-glass)")
	startsAt := fs.String("starts-at", "", "request: start the grant later (RFC 3339)")
	teardown := fs.Bool("teardown", false, "request: a second person's approval to tear down --environment")
	state := fs.String("state", "", "list: only requests in this state")
	active := fs.Bool("active", false, "grants: only grants counting now")
	incident := fs.String("incident", "", "break-glass: the incident id")
	deadline := fs.String("deadline", "", "reviews create: when unreviewed grants are revoked (RFC 3339)")
	format := fs.String("format", "json", "reviews export: json or csv")
	if len(args) == 0 {
		fmt.Fprint(stdout, jitUsage)
		return usagef("access: a subcommand is required")
	}
	if isHelp(args[0]) {
		fmt.Fprint(stdout, jitUsage)
		return nil
	}
	sub, args := args[0], args[1:]
	if sub == "reviews" {
		if len(args) == 0 {
			fmt.Fprint(stdout, jitUsage)
			return usagef("access reviews: a subcommand is required")
		}
		if isHelp(args[0]) {
			fmt.Fprint(stdout, jitUsage)
			return nil
		}
		sub, args = "reviews "+args[0], args[1:]
	}
	a, err := parseFlags(fs, args)
	if err != nil {
		return err
	}
	need := func(n int) error {
		if len(a) != n {
			return usagef("access %s: %d argument(s) required (see 'pave access -h')", sub, n)
		}
		return nil
	}
	scope := map[string]any{"team": *team}
	if *envID != "" {
		scope["environment_id"] = *envID
	}
	if *stage != "" {
		scope["stage"] = *stage
	}
	var call accessCall
	var columns []column
	switch sub {
	case "request":
		body := map[string]any{"role": *role, "scope": scope, "duration": *duration, "reason": *reason}
		if *teardown {
			body["kind"] = "teardown"
			delete(body, "role")
		}
		if *startsAt != "" {
			body["starts_at"] = *startsAt
		}
		call = accessCall{http.MethodPost, "/v1/access-requests", body}
	case "list":
		q := url.Values{}
		for k, v := range map[string]string{"team": *team, "state": *state} {
			if v != "" {
				q.Set(k, v)
			}
		}
		call = accessCall{http.MethodGet, "/v1/access-requests?" + q.Encode(), nil}
		columns = cols("id", "kind", "requester", "team", "role", "state", "duration", "created_at", "reason")
	case "get":
		err = need(1)
		call = accessCall{http.MethodGet, "/v1/access-requests/" + url.PathEscape(first(a)), nil}
	case "approve", "deny":
		err = need(1)
		call = accessCall{http.MethodPost, "/v1/access-requests/" + url.PathEscape(first(a)) + "/" + sub, map[string]any{"reason": *reason}}
	case "grants":
		q := url.Values{}
		if *team != "" {
			q.Set("team", *team)
		}
		if *active {
			q.Set("active", "true")
		}
		call = accessCall{http.MethodGet, "/v1/grants?" + q.Encode(), nil}
		columns = cols("id", "kind", "principal", "team", "role", "scope.kind", "starts_at", "expires_at", "state", "last_used_at")
	case "revoke":
		err = need(1)
		call = accessCall{http.MethodDelete, "/v1/grants/" + url.PathEscape(first(a)), nil}
	case "end":
		err = need(1)
		call = accessCall{http.MethodPost, "/v1/grants/" + url.PathEscape(first(a)) + "/end", nil}
	case "break-glass":
		body := map[string]any{"incident_id": *incident, "reason": *reason, "scope": scope, "role": *role}
		if *duration != "" {
			body["duration"] = *duration
		}
		call = accessCall{http.MethodPost, "/v1/break-glass", body}
	case "reviews create":
		call = accessCall{http.MethodPost, "/v1/access-reviews", map[string]any{"team": *team, "deadline": *deadline}}
	case "reviews list":
		q := url.Values{}
		if *team != "" {
			q.Set("team", *team)
		}
		call = accessCall{http.MethodGet, "/v1/access-reviews?" + q.Encode(), nil}
		columns = cols("id", "team", "state", "deadline", "created_by", "created_at")
	case "reviews get":
		err = need(1)
		call = accessCall{http.MethodGet, "/v1/access-reviews/" + url.PathEscape(first(a)), nil}
	case "reviews export":
		if err = need(1); err != nil {
			return err
		}
		return exportReview(cl, stdout, first(a), *format)
	case "reviews decide":
		if err = need(3); err == nil {
			call = accessCall{http.MethodPost, "/v1/access-reviews/" + url.PathEscape(a[0]) + "/decisions",
				map[string]any{"item_id": a[1], "decision": a[2]}}
		}
	default:
		fmt.Fprint(stdout, jitUsage)
		return usagef("unknown command %q", "access "+sub)
	}
	if err != nil {
		return err
	}
	c, err := cl()
	if err != nil {
		return err
	}
	return c.call(stdout, call.method, call.path, call.body, columns)
}

// exportReview prints a campaign's result: the CSV text as it is, or JSON.
func exportReview(cl func() (*client, error), stdout io.Writer, id, format string) error {
	c, err := cl()
	if err != nil {
		return err
	}
	var out struct {
		Format  string         `json:"format"`
		Content string         `json:"content"`
		Review  map[string]any `json:"review"`
	}
	if err := c.do(http.MethodGet, "/v1/access-reviews/"+url.PathEscape(id)+"/export?format="+url.QueryEscape(format), nil, &out); err != nil {
		return err
	}
	if out.Format == "csv" {
		_, err := io.WriteString(stdout, strings.TrimRight(out.Content, "\n")+"\n")
		return err
	}
	return printJSON(stdout, out.Review)
}
