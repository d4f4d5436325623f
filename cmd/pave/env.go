package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"os/signal"
	"sort"
	"strings"
	"text/tabwriter"
	"time"
)

const envUsage = `Usage:
  pave env create --team T --name N --template X [--version V] [--stage S]
                  [--param k=v ...] [--ttl 4h] [--commit SHA] [--no-wait]
                                    create; follow its progress; end with its resources and outputs
  pave env list [--team T] [--stage S] [--state S] [--limit N]
  pave env get ID [--credentials]   state, resources, outputs (and logins with --credentials)
  pave env update ID --param k=v ... [--commit SHA] [--if-match ETAG] [--no-wait]
                                    a new revision with these parameters changed; follow it
  pave env delete ID [--if-match ETAG] [--wait]
                                    tear down (and follow it until deleted)
  pave env extend ID --ttl 2h | --until 4h | --keep[=false]
                                    add 2h to an ephemeral environment's lease, set it
                                    to expire 4h from now, or keep it
  pave env events ID                follow its progress until it settles
  pave env receipt ID               what its teardown did: each resource, how it was
                                    sanitized, counts before and after, logins revoked

Progress comes from GET /v1/environments/{id}/events (server-sent events);
on a server without that route the CLI polls every second instead.
Exit codes: 0 done, 1 failed (or an API error), 2 usage error, 3 not found.
`

func runEnv(args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 || args[0] == "-h" || args[0] == "--help" || args[0] == "help" {
		fmt.Fprint(stdout, envUsage)
		if len(args) == 0 {
			return usagef("env: a subcommand is required")
		}
		return nil
	}
	sub, args := args[0], args[1:]
	fs := newFlagSet("pave env "+sub, envUsage, stdout)
	cf := addClientFlags(fs)
	switch sub {
	case "create":
		return envCreate(fs, cf, args, stdout, stderr)
	case "list", "ls":
		return envList(fs, cf, args, stdout)
	case "get", "show":
		credentials := fs.Bool("credentials", false, "ask for each resource's login (the owner's for maintainers, else your own grant logins)")
		a, c, err := parseWithClient(fs, cf, args, 1, "ID")
		if err != nil {
			return err
		}
		// Logins come only when asked for: the server decides who may
		// have which (and records the read).
		path := "/v1/environments/" + url.PathEscape(a[0])
		if *credentials {
			path += "?credentials=true"
		}
		var raw json.RawMessage
		if err := c.do(http.MethodGet, path, nil, &raw); err != nil {
			return err
		}
		if !c.table(stdout) {
			return printRaw(stdout, raw)
		}
		return envSummary(stdout, raw, *credentials)
	case "update":
		return envUpdate(fs, cf, args, stdout, stderr)
	case "delete", "rm":
		return envDelete(fs, cf, args, stdout, stderr)
	case "extend":
		return envExtend(fs, cf, args, stdout)
	case "receipt":
		a, c, err := parseWithClient(fs, cf, args, 1, "ID")
		if err != nil {
			return err
		}
		var raw json.RawMessage
		if err := c.do(http.MethodGet, "/v1/environments/"+url.PathEscape(a[0])+"/receipt", nil, &raw); err != nil {
			return err
		}
		if !c.table(stdout) {
			return printRaw(stdout, raw)
		}
		return receiptTable(stdout, raw)
	case "events", "watch":
		a, c, err := parseWithClient(fs, cf, args, 1, "ID")
		if err != nil {
			return err
		}
		ctx, cancel := followContext(0)
		defer cancel()
		state, err := c.watch(ctx, a[0], newProgress(stdout, !c.table(stdout)))
		if err != nil {
			return stoppedFollowing(ctx, a[0], err)
		}
		return finalState(a[0], state, "ready", "deleted")
	}
	fmt.Fprint(stderr, envUsage)
	return usagef("env: unknown subcommand %q", sub)
}

// parseWithClient parses the flags, checks the number of arguments and
// builds the client.
func parseWithClient(fs *flag.FlagSet, cf *clientFlags, args []string, n int, names string) ([]string, *client, error) {
	a, err := parseFlags(fs, args)
	if err != nil {
		return nil, nil, err
	}
	if len(a) != n {
		return nil, nil, usagef("%s: %s required (see '%s -h')", cmdName(fs), names, fs.Name())
	}
	c, err := cf.client()
	return a, c, err
}

func envCreate(fs *flag.FlagSet, cf *clientFlags, args []string, stdout, stderr io.Writer) error {
	team := fs.String("team", "", "team (required)")
	name := fs.String("name", "", "environment name, unique in the team (required)")
	template := fs.String("template", "", "template (required; see pave templates)")
	version := fs.String("version", "", "template version (default: the latest)")
	stage := fs.String("stage", "", "dev, test, staging, prod or preview (default: the template's only stage, else dev)")
	params := paramFlag{}
	fs.Var(params, "param", "template parameter name=value (repeatable); typed from the template's schema")
	ttl := fs.String("ttl", "", "lifetime of an ephemeral environment, e.g. 4h")
	commit := fs.String("commit", "", "the commit this environment runs (40-hex sha)")
	noWait := fs.Bool("no-wait", false, "print the accepted request and return at once")
	timeout := fs.Duration("timeout", 30*time.Minute, "give up waiting after this long")
	a, c, err := parseWithClient(fs, cf, args, 0, "no arguments")
	if err != nil {
		return err
	}
	_ = a
	for flagName, v := range map[string]string{"team": *team, "name": *name, "template": *template} {
		if v == "" {
			return usagef("env create: --%s is required", flagName)
		}
	}
	if *stage == "" {
		if *stage, err = c.defaultStage(*template, *version); err != nil {
			return err
		}
	}
	body := map[string]any{"team": *team, "name": *name, "template": *template}
	if *stage != "" {
		body["stage"] = *stage
	}
	for k, v := range map[string]string{"version": *version, "ttl": *ttl, "commit": *commit} {
		if v != "" {
			body[k] = v
		}
	}
	if len(params) > 0 {
		typed, err := c.typedParams(*template, *version, params)
		if err != nil {
			return err
		}
		body["parameters"] = typed
	}
	var raw json.RawMessage
	if err := c.do(http.MethodPost, "/v1/environments", body, &raw); err != nil {
		return err
	}
	var acc struct {
		Environment struct {
			ID string `json:"id"`
		} `json:"environment"`
	}
	if err := json.Unmarshal(raw, &acc); err != nil || acc.Environment.ID == "" {
		return fmt.Errorf("env create: the answer has no environment id: %s", raw)
	}
	if *noWait {
		if !c.table(stdout) {
			return printRaw(stdout, raw)
		}
		fmt.Fprintf(stdout, "accepted %s (pave env events %s to follow)\n", acc.Environment.ID, acc.Environment.ID)
		return nil
	}
	return c.settle(stdout, stderr, acc.Environment.ID, *timeout, "ready", "creating")
}

// settle follows the environment until it settles, then prints it; an
// end state other than want is an error with the reason.
func (c *client) settle(stdout, stderr io.Writer, id string, timeout time.Duration, want, doing string) error {
	progressOut := stdout
	if !c.table(stdout) {
		progressOut = stderr // stdout is for the JSON answer
	}
	fmt.Fprintf(progressOut, "%s %s\n", doing, id)
	ctx, cancel := followContext(timeout)
	defer cancel()
	if _, err := c.watch(ctx, id, newProgress(progressOut, false)); err != nil {
		return stoppedFollowing(ctx, id, err)
	}
	var raw json.RawMessage
	if err := c.do(http.MethodGet, "/v1/environments/"+id, nil, &raw); err != nil {
		return err
	}
	var env struct{ State, Reason string }
	if err := json.Unmarshal(raw, &env); err != nil {
		return fmt.Errorf("decoding environment %s: %w", id, err)
	}
	if c.table(stdout) {
		fmt.Fprintln(stdout)
		if err := envSummary(stdout, raw, false); err != nil {
			return err
		}
	} else if err := printRaw(stdout, raw); err != nil {
		return err
	}
	if env.State != want {
		return fmt.Errorf("environment %s is %s: %s", id, env.State, env.Reason)
	}
	return nil
}

// followContext ends at Ctrl-C or after timeout (0: no limit).
func followContext(timeout time.Duration) (context.Context, context.CancelFunc) {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	if timeout <= 0 {
		return ctx, stop
	}
	tctx, cancel := context.WithTimeout(ctx, timeout)
	return tctx, func() { cancel(); stop() }
}

// stoppedFollowing says that the operation goes on when the CLI stopped
// watching it (Ctrl-C, --timeout).
func stoppedFollowing(ctx context.Context, id string, err error) error {
	if ctx.Err() == nil {
		return err
	}
	return fmt.Errorf("stopped following %s (%v); it goes on: pave env events %s", id, context.Cause(ctx), id)
}

func finalState(id, state string, ok ...string) error {
	for _, s := range ok {
		if state == s {
			return nil
		}
	}
	return fmt.Errorf("environment %s is %s", id, state)
}

func envList(fs *flag.FlagSet, cf *clientFlags, args []string, stdout io.Writer) error {
	team := fs.String("team", "", "only this team's")
	stage := fs.String("stage", "", "only this stage's")
	state := fs.String("state", "", "only in this state")
	limit := fs.Int("limit", 0, "show at most this many (default: all)")
	pageSize := fs.Int("page-size", 100, "environments per request (1-1000)")
	_, c, err := parseWithClient(fs, cf, args, 0, "no arguments")
	if err != nil {
		return err
	}
	if *pageSize < 1 || *pageSize > 1000 {
		return usagef("env list: --page-size must be from 1 to 1000")
	}
	q := url.Values{}
	for k, v := range map[string]string{"team": *team, "stage": *stage, "state": *state} {
		if v != "" {
			q.Set(k, v)
		}
	}
	raw, err := c.list("/v1/environments", q, *pageSize, *limit)
	if err != nil {
		return err
	}
	return c.show(stdout, raw, cols("id", "team", "name", "template", "version", "stage", "state",
		"EXPIRES=expires_at", "reason"))
}

func envDelete(fs *flag.FlagSet, cf *clientFlags, args []string, stdout, stderr io.Writer) error {
	wait := fs.Bool("wait", false, "follow the teardown until the environment is deleted")
	timeout := fs.Duration("timeout", 30*time.Minute, "give up waiting after this long")
	ifMatch := fs.String("if-match", "", "delete only if the environment's ETag is still this one (412 otherwise)")
	a, c, err := parseWithClient(fs, cf, args, 1, "ID")
	if err != nil {
		return err
	}
	header := http.Header{}
	if *ifMatch != "" {
		header.Set("If-Match", *ifMatch)
	}
	var raw json.RawMessage
	if _, err := c.exchange(http.MethodDelete, "/v1/environments/"+url.PathEscape(a[0]), nil, &raw, header); err != nil {
		return err
	}
	if !*wait {
		if !c.table(stdout) {
			return printRaw(stdout, raw)
		}
		fmt.Fprintf(stdout, "deleting %s (pave env events %s to follow)\n", a[0], a[0])
		return nil
	}
	return c.settle(stdout, stderr, a[0], *timeout, "deleted", "deleting")
}

// receiptTable prints a teardown receipt, one line per step.
func receiptTable(w io.Writer, raw json.RawMessage) error {
	var r struct {
		EnvironmentID string `json:"environment_id"`
		Steps         []struct {
			ResourceID string           `json:"resource_id"`
			Driver     string           `json:"driver"`
			Action     string           `json:"action"`
			Method     string           `json:"method"`
			Before     map[string]int64 `json:"before"`
			After      map[string]int64 `json:"after"`
			Evidence   string           `json:"evidence"`
			Revoked    []string         `json:"credentials_revoked"`
			At         time.Time        `json:"at"`
		} `json:"steps"`
	}
	if err := json.Unmarshal(raw, &r); err != nil {
		return fmt.Errorf("read the receipt: %w", err)
	}
	counts := func(m map[string]int64) string {
		if m == nil {
			return "-"
		}
		keys := make([]string, 0, len(m))
		for k := range m {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		parts := make([]string, 0, len(keys))
		for _, k := range keys {
			parts = append(parts, fmt.Sprintf("%s=%d", k, m[k]))
		}
		return strings.Join(parts, " ")
	}
	fmt.Fprintf(w, "Teardown receipt of %s\n", r.EnvironmentID)
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "RESOURCE\tDRIVER\tSTEP\tBEFORE\tAFTER\tAT")
	for _, s := range r.Steps {
		after := counts(s.After)
		if s.Evidence != "" {
			after = s.Evidence
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n", s.ResourceID, s.Driver, s.Action, counts(s.Before), after, s.At.Format(time.RFC3339))
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	for _, s := range r.Steps {
		fmt.Fprintf(w, "%s %s: %s\n", s.ResourceID, s.Action, s.Method)
		for _, c := range s.Revoked {
			fmt.Fprintf(w, "%s revoked: %s\n", s.ResourceID, c)
		}
	}
	return nil
}
