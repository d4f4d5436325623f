package main

import (
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
)

const subscriptionsUsage = `Usage:
  pave subscriptions create --url URL [--team T] [--format F] [--types GLOB,...]
                            [--environments GLOB,...] [--stages GLOB,...] [--applications GLOB,...]
        send matching events to URL, signed per Standard Webhooks; the signing
        secret is printed once. F: cloudevents-structured (default),
        cloudevents-binary, slack, teams. Without --team: platform-wide (admins)
  pave subscriptions list [--team T]
  pave subscriptions deliveries ID [--state pending|delivered|dead|skipped] [--limit N]
  pave subscriptions replay ID (--from TIME | --from-event EVENT_ID)
  pave subscriptions rotate ID     a new secret; the old one signs too for a while
  pave subscriptions enable ID     turn a subscription disabled for failing on again
  pave subscriptions delete ID
  pave alerts list [--team T] [--state open|acknowledged] [--limit N]
  pave alerts ack ID [--note TEXT]

Flags of every command: --server, --token-file, --config, -o table|json
(see 'pave help config').
`

var (
	subscriptionColumns = cols("id", "team", "url", "format", "types", "state", "created_by", "created_at")
	deliveryColumns     = cols("event_id", "event_type", "subject", "seq", "state", "attempts=attempt_count", "next=next_attempt_at", "reason")
	alertColumns        = cols("id", "team", "kind", "severity", "state", "at", "summary")
)

// runSubscriptions serves `pave subscriptions` and `pave alerts`.
func runSubscriptions(cmd string, args []string, stdout io.Writer) error {
	if len(args) == 0 || isHelp(args[0]) {
		fmt.Fprint(stdout, subscriptionsUsage)
		if len(args) == 0 {
			return usagef("%s: a subcommand is required", cmd)
		}
		return nil
	}
	if cmd == "alerts" {
		return runAlerts(args, stdout)
	}
	name := "pave subscriptions " + args[0]
	fs := newFlagSet(name, subscriptionsUsage, stdout)
	cf := addClientFlags(fs)
	switch args[0] {
	case "create":
		u := fs.String("url", "", "the endpoint (required)")
		team := fs.String("team", "", "the team (none: platform-wide, admins only)")
		format := fs.String("format", "", "cloudevents-structured, cloudevents-binary, slack or teams")
		types := fs.String("types", "", "event type globs, comma-separated (default: all)")
		envs := fs.String("environments", "", "environment id or name globs, comma-separated")
		stages := fs.String("stages", "", "stage globs, comma-separated")
		apps := fs.String("applications", "", "application globs, comma-separated")
		_, c, err := parseWithClient(fs, cf, args[1:], 0, "no arguments")
		if err != nil {
			return err
		}
		if *u == "" {
			return usagef("subscriptions create: --url is required")
		}
		body := map[string]any{"url": *u, "team": *team, "format": *format, "types": splitList(*types),
			"environments": splitList(*envs), "stages": splitList(*stages), "applications": splitList(*apps)}
		return c.call(stdout, http.MethodPost, "/v1/subscriptions", body, nil)
	case "list":
		team := fs.String("team", "", "only this team's")
		_, c, err := parseWithClient(fs, cf, args[1:], 0, "no arguments")
		if err != nil {
			return err
		}
		q := url.Values{}
		if *team != "" {
			q.Set("team", *team)
		}
		return c.call(stdout, http.MethodGet, "/v1/subscriptions?"+q.Encode(), nil, subscriptionColumns)
	case "deliveries":
		state := fs.String("state", "", "only deliveries in this state")
		limit := fs.Int("limit", 100, "at most this many, newest first (1-1000)")
		a, c, err := parseWithClient(fs, cf, args[1:], 1, "one subscription ID")
		if err != nil {
			return err
		}
		q := url.Values{"limit": {strconv.Itoa(*limit)}}
		if *state != "" {
			q.Set("state", *state)
		}
		return c.call(stdout, http.MethodGet, "/v1/subscriptions/"+url.PathEscape(a[0])+"/deliveries?"+q.Encode(), nil, deliveryColumns)
	case "replay":
		from := fs.String("from", "", "re-send events stored since this time (RFC 3339, or a duration ago like 2h)")
		fromEvent := fs.String("from-event", "", "re-send from this event (inclusive)")
		a, c, err := parseWithClient(fs, cf, args[1:], 1, "one subscription ID")
		if err != nil {
			return err
		}
		body, err := replayBody(*from, *fromEvent)
		if err != nil {
			return err
		}
		return c.call(stdout, http.MethodPost, "/v1/subscriptions/"+url.PathEscape(a[0])+"/replay", body, nil)
	case "rotate", "delete", "enable":
		a, c, err := parseWithClient(fs, cf, args[1:], 1, "one subscription ID")
		if err != nil {
			return err
		}
		path := "/v1/subscriptions/" + url.PathEscape(a[0])
		if args[0] != "delete" {
			return c.call(stdout, http.MethodPost, path+"/"+args[0], map[string]any{}, nil)
		}
		if err := c.do(http.MethodDelete, path, nil, nil); err != nil {
			return err
		}
		_, err = fmt.Fprintln(stdout, "deleted", a[0])
		return err
	}
	fmt.Fprint(stdout, subscriptionsUsage)
	return usagef("subscriptions: unknown subcommand %q", args[0])
}

func replayBody(from, fromEvent string) (map[string]any, error) {
	switch {
	case (from == "") == (fromEvent == ""):
		return nil, usagef("subscriptions replay: give --from or --from-event, one of them")
	case fromEvent != "":
		return map[string]any{"from_event_id": fromEvent}, nil
	}
	if d, err := time.ParseDuration(from); err == nil {
		return map[string]any{"from_time": time.Now().Add(-d).UTC().Format(time.RFC3339Nano)}, nil
	}
	t, err := time.Parse(time.RFC3339, from)
	if err != nil {
		return nil, usagef("subscriptions replay: --from: not an RFC 3339 time or a duration")
	}
	return map[string]any{"from_time": t.UTC().Format(time.RFC3339Nano)}, nil
}

func runAlerts(args []string, stdout io.Writer) error {
	fs := newFlagSet("pave alerts "+args[0], subscriptionsUsage, stdout)
	cf := addClientFlags(fs)
	switch args[0] {
	case "list":
		team := fs.String("team", "", "only this team's")
		state := fs.String("state", "", "open or acknowledged")
		limit := fs.Int("limit", 100, "at most this many, newest first (1-1000)")
		_, c, err := parseWithClient(fs, cf, args[1:], 0, "no arguments")
		if err != nil {
			return err
		}
		q := url.Values{"limit": {strconv.Itoa(*limit)}}
		for k, v := range map[string]string{"team": *team, "state": *state} {
			if v != "" {
				q.Set(k, v)
			}
		}
		return c.call(stdout, http.MethodGet, "/v1/alerts?"+q.Encode(), nil, alertColumns)
	case "ack":
		note := fs.String("note", "", "what was done about it")
		a, c, err := parseWithClient(fs, cf, args[1:], 1, "one alert ID")
		if err != nil {
			return err
		}
		return c.call(stdout, http.MethodPost, "/v1/alerts/"+url.PathEscape(a[0])+"/ack", map[string]any{"note": *note}, nil)
	}
	fmt.Fprint(stdout, subscriptionsUsage)
	return usagef("alerts: unknown subcommand %q", args[0])
}

func splitList(s string) []string {
	if s == "" {
		return nil
	}
	var out []string
	for _, p := range strings.Split(s, ",") {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return out
}
