package main

import (
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"strconv"
	"strings"
	"time"
)

const workloadsUsage = `Usage:
  pave workloads submit [flags] -- COMMAND [ARGS...]   queue a job (runs on a 'pave runner' of its pool)
  pave workloads get ID                               state, queue position and why it waits
  pave workloads list [--team T] [--pool P] [--state S] [--limit N]
  pave workloads cancel ID
  pave pools                                          pools, capacity and usage

Flags of every command: --server, --token-file, --config, -o table|json
(see 'pave help config').
`

func runWorkloads(args []string, stdout io.Writer) error {
	if len(args) == 0 || args[0] == "-h" || args[0] == "--help" || args[0] == "help" {
		fmt.Fprint(stdout, workloadsUsage)
		if len(args) == 0 {
			return usagef("workloads: a subcommand is required")
		}
		return nil
	}
	switch args[0] {
	case "submit":
		return submitWorkload(args[1:], stdout)
	case "get", "cancel":
		fs := newFlagSet("pave workloads "+args[0], workloadsUsage, stdout)
		a, c, err := parseWithClient(fs, addClientFlags(fs), args[1:], 1, "one workload ID")
		if err != nil {
			return err
		}
		method := http.MethodGet
		if args[0] == "cancel" {
			method = http.MethodDelete
		}
		return c.call(stdout, method, "/v1/workloads/"+url.PathEscape(a[0]), nil, nil)
	case "list":
		fs := newFlagSet("pave workloads list", workloadsUsage, stdout)
		cf := addClientFlags(fs)
		team := fs.String("team", "", "only this team's")
		pool := fs.String("pool", "", "only this pool's")
		state := fs.String("state", "", "only in this state (queued, admitted, running, finished, failed, cancelled, released)")
		limit := fs.Int("limit", 0, "show at most this many (default: all)")
		_, c, err := parseWithClient(fs, cf, args[1:], 0, "no arguments")
		if err != nil {
			return err
		}
		q := url.Values{}
		for k, v := range map[string]string{"team": *team, "pool": *pool, "state": *state} {
			if v != "" {
				q.Set(k, v)
			}
		}
		raw, err := c.list("/v1/workloads", q, 1000, *limit)
		if err != nil {
			return err
		}
		return c.show(stdout, raw, cols("id", "team", "pool", "kind", "state", "position", "reason"))
	}
	fmt.Fprint(stdout, workloadsUsage)
	return usagef("workloads: unknown subcommand %q", args[0])
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
	fs := newFlagSet("pave workloads submit", workloadsUsage, stdout)
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
	if err := parseSubmitFlags(fs, args); err != nil {
		return err
	}
	if fs.NArg() == 0 {
		return usagef("workloads submit: the command to run is required after --")
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
	var raw json.RawMessage
	if err := c.do(http.MethodPost, "/v1/workloads", body, &raw); err != nil {
		return err
	}
	if !*wait {
		return c.show(stdout, raw, nil)
	}
	var v map[string]any
	if err := json.Unmarshal(raw, &v); err != nil {
		return fmt.Errorf("decoding the workload: %w", err)
	}
	wid := fmt.Sprint(v["id"])
	progress := stdout
	if !c.table(stdout) {
		progress = os.Stderr // stdout is for the JSON answer
	}
	last := ""
	pace := workloadPoll
	for {
		v = nil // a fresh answer each time, without keys left from the last
		if err := c.do(http.MethodGet, "/v1/workloads/"+url.PathEscape(wid), nil, &raw); err != nil {
			return err
		}
		if err := json.Unmarshal(raw, &v); err != nil {
			return fmt.Errorf("decoding the workload: %w", err)
		}
		line := fmt.Sprint(v["state"])
		if v["reason"] != nil {
			line += ": " + fmt.Sprint(v["reason"])
		}
		if line != last {
			fmt.Fprintln(progress, wid, line)
			last = line
		}
		switch v["state"] {
		case "finished":
			return c.show(stdout, raw, nil)
		case "failed", "cancelled", "released":
			_ = c.show(stdout, raw, nil)
			return fmt.Errorf("workload %s %v: %v", wid, v["state"], orEmpty(v["reason"]))
		}
		time.Sleep(pace.Next())
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
	fs := newFlagSet("pave pools", "Usage:\n  pave pools [NAME]   pools: capacity, usage per team, queue length\n", stdout)
	cf := addClientFlags(fs)
	a, err := parseFlags(fs, args)
	if err != nil {
		return err
	}
	if len(a) > 1 {
		return usagef("pools: at most one pool NAME")
	}
	c, err := cf.client()
	if err != nil {
		return err
	}
	path := "/v1/pools"
	if len(a) == 1 {
		path += "/" + url.PathEscape(a[0])
	}
	return c.call(stdout, http.MethodGet, path, nil, cols("name", "capacity", "used", "queued"))
}

// parseSubmitFlags parses flags up to the command: everything from the
// first argument on is the job's command line, flags included.
func parseSubmitFlags(fs *flag.FlagSet, args []string) error {
	help := fs.Usage
	fs.Usage = func() {}
	defer func() { fs.Usage = help }()
	err := fs.Parse(args)
	switch {
	case errors.Is(err, flag.ErrHelp):
		help()
		return err
	case err != nil:
		return usagef("%s: %v", cmdName(fs), err)
	}
	return nil
}
