package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"
)

// paramFlag collects --param k=v.
type paramFlag map[string]string

func (p paramFlag) String() string { return fmt.Sprint(map[string]string(p)) }

func (p paramFlag) Set(s string) error {
	k, v, ok := strings.Cut(s, "=")
	if !ok || k == "" {
		return fmt.Errorf("%q is not name=value, e.g. size=small", s)
	}
	p[k] = v
	return nil
}

// typedParams turns --param strings into the types the template's
// parameter schema asks for; a name the template does not know goes as
// a string, for the API to refuse naming it.
func (c *client) typedParams(template, version string, params paramFlag) (map[string]any, error) {
	path := "/v1/templates/" + url.PathEscape(template)
	if version != "" {
		path += "?version=" + url.QueryEscape(version)
	}
	var t struct {
		Parameters struct {
			Properties map[string]struct {
				Type any `json:"type"`
			} `json:"properties"`
		} `json:"parameters"`
	}
	if err := c.do(http.MethodGet, path, nil, &t); err != nil {
		return nil, err
	}
	out := map[string]any{}
	for k, v := range params {
		typ, _ := t.Parameters.Properties[k].Type.(string)
		val, err := typedValue(typ, v)
		if err != nil {
			return nil, usagef("--param %s=%s: %v", k, v, err)
		}
		out[k] = val
	}
	return out, nil
}

func typedValue(typ, v string) (any, error) {
	switch typ {
	case "integer":
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil {
			return nil, fmt.Errorf("the template wants an integer")
		}
		return n, nil
	case "number":
		f, err := strconv.ParseFloat(v, 64)
		if err != nil {
			return nil, fmt.Errorf("the template wants a number")
		}
		return f, nil
	case "boolean":
		b, err := strconv.ParseBool(v)
		if err != nil {
			return nil, fmt.Errorf("the template wants true or false")
		}
		return b, nil
	case "array", "object":
		var x any
		if err := json.Unmarshal([]byte(v), &x); err != nil {
			return nil, fmt.Errorf("the template wants JSON (%s)", typ)
		}
		return x, nil
	}
	return v, nil
}

// envUpdate changes some parameters: it reads the environment, merges
// the --param values into its parameters, and sends them with If-Match,
// so a change made meanwhile by someone else is refused, not overwritten.
func envUpdate(fs *flag.FlagSet, cf *clientFlags, args []string, stdout, stderr io.Writer) error {
	params := paramFlag{}
	fs.Var(params, "param", "template parameter name=value to change (repeatable)")
	commit := fs.String("commit", "", "the commit the new revision runs (40-hex sha)")
	ifMatch := fs.String("if-match", "", "apply only if the environment's ETag is still this one, as you last read it "+
		"(default: the ETag read just before; 412 if it changed)")
	noWait := fs.Bool("no-wait", false, "print the accepted request and return at once")
	timeout := fs.Duration("timeout", 30*time.Minute, "give up waiting after this long")
	a, c, err := parseWithClient(fs, cf, args, 1, "ID")
	if err != nil {
		return err
	}
	if len(params) == 0 && *commit == "" {
		return usagef("env update: give --param, --commit, or both")
	}
	path := "/v1/environments/" + url.PathEscape(a[0])
	var env struct {
		Template   string         `json:"template"`
		Version    string         `json:"version"`
		Parameters map[string]any `json:"parameters"`
	}
	h, err := c.exchange(http.MethodGet, path, nil, &env, nil)
	if err != nil {
		return err
	}
	typed, err := c.typedParams(env.Template, env.Version, params)
	if err != nil {
		return err
	}
	merged := map[string]any{}
	for k, v := range env.Parameters {
		merged[k] = v
	}
	for k, v := range typed {
		merged[k] = v
	}
	body := map[string]any{"parameters": merged}
	if *commit != "" {
		body["commit"] = *commit
	}
	header := http.Header{}
	if etag := h.Get("ETag"); *ifMatch != "" {
		header.Set("If-Match", *ifMatch)
	} else if etag != "" {
		header.Set("If-Match", etag)
	}
	var raw json.RawMessage
	if _, err := c.exchange(http.MethodPatch, path, body, &raw, header); err != nil {
		return err
	}
	if *noWait {
		if !c.table(stdout) {
			return printRaw(stdout, raw)
		}
		fmt.Fprintf(stdout, "accepted an update of %s (pave env events %s to follow)\n", a[0], a[0])
		return nil
	}
	return c.settle(stdout, stderr, a[0], *timeout, "ready", "updating")
}

func envExtend(fs *flag.FlagSet, cf *clientFlags, args []string, stdout io.Writer) error {
	ttl := fs.Duration("ttl", 0, "add this much to the lease, e.g. 2h (up to the template's maximum)")
	until := fs.String("until", "", "expire this long from now, e.g. 4h")
	keep := fs.Bool("keep", false, "never expire (--keep=false to expire again)")
	a, c, err := parseWithClient(fs, cf, args, 1, "ID")
	if err != nil {
		return err
	}
	if *ttl < 0 || (*ttl > 0 && *until != "") {
		return usagef("env extend: --ttl adds a positive duration; give it or --until, not both")
	}
	body := map[string]any{}
	if *until != "" {
		body["ttl"] = *until // the API's ttl counts from now
	}
	if *ttl > 0 {
		fromNow, err := c.leaseAfter(a[0], *ttl)
		if err != nil {
			return err
		}
		body["ttl"] = fromNow
	}
	fs.Visit(func(f *flag.Flag) {
		if f.Name == "keep" {
			body["keep"] = *keep
		}
	})
	if len(body) == 0 {
		return usagef("env extend: give --ttl, --keep, or both (--until instead of --ttl to count from now)")
	}
	var raw json.RawMessage
	if err := c.do(http.MethodPost, "/v1/environments/"+url.PathEscape(a[0])+"/extend", body, &raw); err != nil {
		return err
	}
	if !c.table(stdout) {
		return printRaw(stdout, raw)
	}
	return envSummary(stdout, raw, false)
}

// leaseAfter is the API's ttl (from now) that moves the environment's
// expiry d later than it is now: extend adds time. An environment past
// its expiry gets d from now.
func (c *client) leaseAfter(id string, d time.Duration) (string, error) {
	var env struct {
		ExpiresAt time.Time `json:"expires_at"`
	}
	h, err := c.exchange(http.MethodGet, "/v1/environments/"+url.PathEscape(id), nil, &env, nil)
	if err != nil {
		return "", err
	}
	if env.ExpiresAt.IsZero() {
		return d.String(), nil // persistent: the API names the field
	}
	// The server's clock, not this machine's: its Date header (whole
	// seconds, so one more keeps the new expiry from coming earlier).
	now, err := http.ParseTime(h.Get("Date"))
	if err != nil {
		now = time.Now()
	}
	left := max(env.ExpiresAt.Sub(now), 0)
	return (left + d + time.Second).Truncate(time.Second).String(), nil
}

// defaultStage is what --stage defaults to: the template's only stage
// (what the API picks), else dev when the template allows it, else none
// (the API then names the stages it allows).
func (c *client) defaultStage(template, version string) (string, error) {
	path := "/v1/templates/" + url.PathEscape(template)
	if version != "" {
		path += "?version=" + url.QueryEscape(version)
	}
	var t struct {
		Lifecycle struct {
			Stages []string `json:"stages"`
		} `json:"lifecycle"`
	}
	if err := c.do(http.MethodGet, path, nil, &t); err != nil {
		return "", nil // the create's answer names what is wrong (an unknown template)
	}
	switch stages := t.Lifecycle.Stages; {
	case len(stages) == 1:
		return stages[0], nil
	case slices.Contains(stages, "dev"):
		return "dev", nil
	}
	return "", nil
}
