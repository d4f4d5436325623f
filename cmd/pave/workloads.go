package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

const workloadsUsage = `Usage:
  pave workloads submit [flags] -- COMMAND [ARGS...]   queue a job (runs on a 'pave runner' of its pool)
  pave workloads get ID                               state, queue position and why it waits
  pave workloads list [--team T] [--state S]
  pave workloads cancel ID
  pave pools                                          pools, capacity and usage

Every command talks to the API at --server (PAVE_SERVER, default
http://localhost:8080) with the token in PAVE_TOKEN or in --token-file
(default $PAVE_DATA_DIR/token, as 'pave dev' writes it).
`

// client is the API as the CLI uses it.
type client struct {
	server, token string
	http          *http.Client
}

func newClient(fs *flag.FlagSet) func() (*client, error) {
	server := fs.String("server", envOr("PAVE_SERVER", "http://localhost:8080"), "API base URL")
	tokenFile := fs.String("token-file", filepath.Join(envOr("PAVE_DATA_DIR", ".pave"), "token"), "file holding the API token (when PAVE_TOKEN is unset)")
	return func() (*client, error) {
		token := os.Getenv("PAVE_TOKEN")
		if token == "" {
			raw, err := os.ReadFile(*tokenFile)
			if err != nil {
				return nil, fmt.Errorf("no token: set PAVE_TOKEN or --token-file (%w)", err)
			}
			token = strings.TrimSpace(string(raw))
		}
		return &client{server: strings.TrimRight(*server, "/"), token: token, http: &http.Client{Timeout: 30 * time.Second}}, nil
	}
}

// do sends a request and decodes a JSON answer into out; a problem answer
// becomes an error that quotes it.
func (c *client) do(method, path string, body, out any) error {
	var rd io.Reader
	if body != nil {
		raw, err := json.Marshal(body)
		if err != nil {
			return err
		}
		rd = bytes.NewReader(raw)
	}
	req, err := http.NewRequest(method, c.server+path, rd)
	if err != nil {
		return err
	}
	req.Header.Set("Authorization", "Bearer "+c.token)
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	if err != nil {
		return err
	}
	if resp.StatusCode >= 300 {
		var p struct {
			Title, Detail string
		}
		_ = json.Unmarshal(raw, &p)
		return fmt.Errorf("%s %s: %d %s: %s", method, path, resp.StatusCode, p.Title, p.Detail)
	}
	if out == nil {
		return nil
	}
	return json.Unmarshal(raw, out)
}

func runWorkloads(args []string, stdout io.Writer) error {
	if len(args) == 0 {
		fmt.Fprint(stdout, workloadsUsage)
		return errors.New("workloads: a subcommand is required")
	}
	switch args[0] {
	case "submit":
		return submitWorkload(args[1:], stdout)
	case "get", "cancel":
		fs := flag.NewFlagSet("pave workloads "+args[0], flag.ContinueOnError)
		cl := newClient(fs)
		if err := fs.Parse(args[1:]); err != nil {
			return err
		}
		if fs.NArg() != 1 {
			return fmt.Errorf("workloads %s: exactly one workload id is required", args[0])
		}
		c, err := cl()
		if err != nil {
			return err
		}
		method := http.MethodGet
		if args[0] == "cancel" {
			method = http.MethodDelete
		}
		var v map[string]any
		if err := c.do(method, "/v1/workloads/"+fs.Arg(0), nil, &v); err != nil {
			return err
		}
		return printJSON(stdout, v)
	case "list":
		fs := flag.NewFlagSet("pave workloads list", flag.ContinueOnError)
		cl := newClient(fs)
		team := fs.String("team", "", "only this team's")
		state := fs.String("state", "", "only in this state (queued, admitted, running, finished, failed, cancelled, released)")
		if err := fs.Parse(args[1:]); err != nil {
			return err
		}
		c, err := cl()
		if err != nil {
			return err
		}
		q := "?limit=1000"
		if *team != "" {
			q += "&team=" + *team
		}
		if *state != "" {
			q += "&state=" + *state
		}
		var list struct {
			Items []map[string]any `json:"items"`
		}
		if err := c.do(http.MethodGet, "/v1/workloads"+q, nil, &list); err != nil {
			return err
		}
		fmt.Fprintf(stdout, "%-28s %-12s %-10s %-9s %s\n", "ID", "TEAM", "POOL", "STATE", "REASON")
		for _, w := range list.Items {
			fmt.Fprintf(stdout, "%-28v %-12v %-10v %-9v %v\n", w["id"], w["team"], w["pool"], w["state"], orEmpty(w["reason"]))
		}
		return nil
	}
	fmt.Fprint(stdout, workloadsUsage)
	return fmt.Errorf("workloads: unknown subcommand %q", args[0])
}

func orEmpty(v any) any {
	if v == nil {
		return ""
	}
	return v
}

// demandFlag collects --demand name=quantity.
type demandFlag map[string]int64

func (d demandFlag) String() string { return fmt.Sprint(map[string]int64(d)) }

func (d demandFlag) Set(s string) error {
	name, q, ok := strings.Cut(s, "=")
	n, err := strconv.ParseInt(q, 10, 64)
	if !ok || name == "" || err != nil {
		return fmt.Errorf("%q is not name=quantity, e.g. gpu=1", s)
	}
	d[name] = n
	return nil
}

func submitWorkload(args []string, stdout io.Writer) error {
	fs := flag.NewFlagSet("pave workloads submit", flag.ContinueOnError)
	cl := newClient(fs)
	id := fs.String("id", "", "workload id (default: generated)")
	team := fs.String("team", "", "team (required)")
	pool := fs.String("pool", "batch", "pool")
	cpu := fs.Int64("cpu", 0, "millicores")
	memory := fs.Int64("memory", 0, "MiB")
	demand := demandFlag{}
	fs.Var(demand, "demand", "other resources, name=quantity (repeatable)")
	priority := fs.Int("priority", 0, "higher runs first within the team")
	after := fs.String("after", "", "comma-separated workload ids that must finish first")
	preemptible := fs.Bool("preemptible", false, "may be sent back to the queue to give borrowed capacity back")
	minRuntime := fs.String("min-runtime", "", "never preempted before it has run this long, e.g. 1m")
	maxRuntime := fs.String("max-runtime", "", "timeout, e.g. 10m")
	dir := fs.String("dir", "", "working directory on the runner")
	var env demandEnv = map[string]string{}
	fs.Var(env, "env", "NAME=value for the job (repeatable; not for secrets)")
	wait := fs.Bool("wait", false, "wait until the job ends; exit non-zero unless it finished")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() == 0 {
		return errors.New("workloads submit: the command to run is required after --")
	}
	if *cpu > 0 {
		demand["cpu"] = *cpu
	}
	if *memory > 0 {
		demand["memory"] = *memory
	}
	body := map[string]any{"team": *team, "pool": *pool, "kind": "job", "demand": demand, "priority": *priority,
		"preemptible": *preemptible, "job": map[string]any{"command": fs.Arg(0), "args": fs.Args()[1:], "env": env, "dir": *dir}}
	for k, v := range map[string]string{"id": *id, "min_runtime": *minRuntime, "max_runtime": *maxRuntime} {
		if v != "" {
			body[k] = v
		}
	}
	if *after != "" {
		body["depends_on"] = strings.Split(*after, ",")
	}
	c, err := cl()
	if err != nil {
		return err
	}
	var v map[string]any
	if err := c.do(http.MethodPost, "/v1/workloads", body, &v); err != nil {
		return err
	}
	if !*wait {
		return printJSON(stdout, v)
	}
	wid := fmt.Sprint(v["id"])
	last := ""
	for {
		v = nil // a fresh answer each time, without keys left from the last
		if err := c.do(http.MethodGet, "/v1/workloads/"+wid, nil, &v); err != nil {
			return err
		}
		line := fmt.Sprint(v["state"])
		if v["reason"] != nil {
			line += ": " + fmt.Sprint(v["reason"])
		}
		if line != last {
			fmt.Fprintln(stdout, wid, line)
			last = line
		}
		switch v["state"] {
		case "finished":
			return printJSON(stdout, v)
		case "failed", "cancelled", "released":
			_ = printJSON(stdout, v)
			return fmt.Errorf("workload %s %v: %v", wid, v["state"], orEmpty(v["reason"]))
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// demandEnv collects --env NAME=value.
type demandEnv map[string]string

func (e demandEnv) String() string { return fmt.Sprint(map[string]string(e)) }

func (e demandEnv) Set(s string) error {
	k, v, ok := strings.Cut(s, "=")
	if !ok || k == "" {
		return fmt.Errorf("%q is not NAME=value", s)
	}
	e[k] = v
	return nil
}

func runPools(args []string, stdout io.Writer) error {
	fs := flag.NewFlagSet("pave pools", flag.ContinueOnError)
	cl := newClient(fs)
	if err := fs.Parse(args); err != nil {
		return err
	}
	c, err := cl()
	if err != nil {
		return err
	}
	var v map[string]any
	if err := c.do(http.MethodGet, "/v1/pools", nil, &v); err != nil {
		return err
	}
	return printJSON(stdout, v)
}

func printJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}
