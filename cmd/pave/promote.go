package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"time"
)

const promoteUsage = `Usage:
  pave promote APP --to STAGE [--commit SHA | --revision N] [--wait]
        promote a revision of APP into STAGE: by default the current
        revision of the previous stage's environment
  pave promotions list --app APP [--limit N]    history: who, what, when, gates, outcome
  pave promotions get ID
  pave promotions approve ID                    approve someone else's promotion

Flags of every command: --server, --token-file, --config, -o table|json
(see 'pave help config').
`

// promotionColumns are the history's table columns.
var promotionColumns = cols("id", "application", "from=from_stage", "to=to_stage", "commit", "by", "state", "reason", "created_at")

// runPromote serves `pave promote` and `pave promotions`.
func runPromote(cmd string, args []string, stdout io.Writer) error {
	if len(args) == 0 || args[0] == "-h" || args[0] == "--help" || args[0] == "help" {
		fmt.Fprint(stdout, promoteUsage)
		if len(args) == 0 {
			return usagef("%s: arguments are required", cmd)
		}
		return nil
	}
	if cmd == "promote" {
		return promote(args, stdout)
	}
	switch args[0] {
	case "list":
		fs := newFlagSet("pave promotions list", promoteUsage, stdout)
		cf := addClientFlags(fs)
		app := fs.String("app", "", "the application (required)")
		limit := fs.Int("limit", 0, "show at most this many (default: all)")
		_, c, err := parseWithClient(fs, cf, args[1:], 0, "no arguments")
		if err != nil {
			return err
		}
		if *app == "" {
			return usagef("promotions list: --app is required")
		}
		raw, err := c.list("/v1/promotions", url.Values{"application": {*app}}, 1000, *limit)
		if err != nil {
			return err
		}
		return c.show(stdout, raw, promotionColumns)
	case "get", "approve":
		fs := newFlagSet("pave promotions "+args[0], promoteUsage, stdout)
		a, c, err := parseWithClient(fs, addClientFlags(fs), args[1:], 1, "one promotion ID")
		if err != nil {
			return err
		}
		if args[0] == "get" {
			return c.call(stdout, http.MethodGet, "/v1/promotions/"+url.PathEscape(a[0]), nil, nil)
		}
		return c.call(stdout, http.MethodPost, "/v1/promotions/"+url.PathEscape(a[0])+"/approve", map[string]any{}, nil)
	}
	fmt.Fprint(stdout, promoteUsage)
	return usagef("promotions: unknown subcommand %q", args[0])
}

// promotionState is what --wait follows.
type promotionState struct {
	ID     string `json:"id"`
	State  string `json:"state"`
	Reason string `json:"reason"`
}

func promote(args []string, stdout io.Writer) error {
	fs := newFlagSet("pave promote", promoteUsage, stdout)
	cf := addClientFlags(fs)
	to := fs.String("to", "", "the stage to promote into (required)")
	commit := fs.String("commit", "", "promote the previous stage's revision that runs this commit")
	revision := fs.Int("revision", 0, "promote this revision of the previous stage's environment")
	wait := fs.Bool("wait", false, "wait until the promotion is promoted, rejected or rolled back")
	timeout := fs.Duration("timeout", 30*time.Minute, "how long --wait waits")
	// The application comes first: flags may follow it.
	if len(args) == 0 || args[0] == "" || args[0][0] == '-' {
		return usagef("promote: APP is required (see 'pave promote -h')")
	}
	app := args[0]
	_, c, err := parseWithClient(fs, cf, args[1:], 0, "only APP")
	if err != nil {
		return err
	}
	if *to == "" {
		return usagef("promote: --to is required")
	}
	body := map[string]any{"application": app, "to": *to}
	if *commit != "" {
		body["commit"] = *commit
	}
	if *revision != 0 {
		body["revision"] = *revision
	}
	var raw json.RawMessage
	if err := c.do(http.MethodPost, "/v1/promotions", body, &raw); err != nil {
		return err
	}
	if !*wait {
		return c.show(stdout, raw, nil)
	}
	var p promotionState
	if err := json.Unmarshal(raw, &p); err != nil {
		return fmt.Errorf("decoding the promotion: %w", err)
	}
	return c.waitPromotion(p.ID, *timeout, stdout)
}

// waitPromotion polls the promotion until it ends; an end other than
// promoted is an error carrying the reason.
func (c *client) waitPromotion(id string, timeout time.Duration, stdout io.Writer) error {
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	pace := promotionPoll
	last := ""
	for {
		var raw json.RawMessage
		if err := c.do(http.MethodGet, "/v1/promotions/"+url.PathEscape(id), nil, &raw); err != nil {
			return err
		}
		var p promotionState
		if err := json.Unmarshal(raw, &p); err != nil {
			return fmt.Errorf("decoding the promotion: %w", err)
		}
		if p.State != last && c.table(stdout) {
			fmt.Fprintf(stdout, "%s: %s\n", id, p.State)
		}
		last = p.State
		switch p.State {
		case "promoted":
			return c.show(stdout, raw, nil)
		case "rejected", "rolled_back", "rollback_failed":
			if err := c.show(stdout, raw, nil); err != nil {
				return err
			}
			return fmt.Errorf("promotion %s %s: %s", id, p.State, p.Reason)
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("promotion %s still %s after %s", id, p.State, timeout)
		case <-time.After(pace.Next()):
		}
	}
}
