package main

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"sort"
	"text/tabwriter"
)

const templatesUsage = `Usage:
  pave templates              the template catalog
  pave templates NAME [--version V]
                              one template: its parameters (for pave env create --param) and resources
`

func runTemplates(args []string, stdout io.Writer) error {
	fs := newFlagSet("pave templates", templatesUsage, stdout)
	cf := addClientFlags(fs)
	version := fs.String("version", "", "this version (default: the latest)")
	a, err := parseFlags(fs, args)
	if err != nil {
		return err
	}
	if len(a) > 1 {
		return usagef("templates: at most one template NAME")
	}
	c, err := cf.client()
	if err != nil {
		return err
	}
	if len(a) == 0 {
		return c.call(stdout, http.MethodGet, "/v1/templates", nil, cols("name", "version", "versions", "owner",
			"STAGES=lifecycle.stages", "EPHEMERAL=lifecycle.ephemeral", "description"))
	}
	path := "/v1/templates/" + url.PathEscape(a[0])
	if *version != "" {
		path += "?version=" + url.QueryEscape(*version)
	}
	var raw json.RawMessage
	if err := c.do(http.MethodGet, path, nil, &raw); err != nil {
		return err
	}
	if !c.table(stdout) {
		return printRaw(stdout, raw)
	}
	return templateDetail(stdout, raw)
}

// templateDetail prints one template: what it is, its parameters and
// its resources.
func templateDetail(w io.Writer, raw json.RawMessage) error {
	var t map[string]any
	if err := json.Unmarshal(raw, &t); err != nil {
		return fmt.Errorf("decoding the template: %w", err)
	}
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	for _, k := range []string{"name", "version", "versions", "description", "owner", "cost_class"} {
		fmt.Fprintf(tw, "%s:\t%s\n", k, cell(t[k]))
	}
	fmt.Fprintf(tw, "stages:\t%s\n", cell(lookup(t, "lifecycle.stages")))
	fmt.Fprintf(tw, "ephemeral:\t%s\n", cell(lookup(t, "lifecycle.ephemeral")))
	if err := tw.Flush(); err != nil {
		return err
	}
	props, _ := lookup(t, "parameters.properties").(map[string]any)
	names := make([]string, 0, len(props))
	for n := range props {
		names = append(names, n)
	}
	sort.Strings(names)
	params := make([]any, 0, len(names))
	for _, n := range names {
		p, _ := props[n].(map[string]any)
		row := map[string]any{"name": n, "type": p["type"], "default": p["default"], "allowed": p["enum"],
			"description": p["description"]}
		if p["minimum"] != nil || p["maximum"] != nil {
			row["allowed"] = cell(p["minimum"]) + ".." + cell(p["maximum"])
		}
		params = append(params, row)
	}
	if len(params) > 0 {
		fmt.Fprintln(w)
		if err := listTable(w, params, cols("PARAMETER=name", "type", "default", "allowed", "description")); err != nil {
			return err
		}
	}
	resources, _ := t["resources"].([]any)
	if len(resources) == 0 {
		return nil
	}
	fmt.Fprintln(w)
	return listTable(w, resources, cols("RESOURCE=name", "driver", "class", "parameters"))
}
