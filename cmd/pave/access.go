package main

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
)

const accessUsage = `Usage:
  pave whoami                                       who the token belongs to
  pave teams create NAME | list | get NAME | delete NAME [--cascade]
                                                    delete refuses a team with environments, workloads or grants;
                                                    --cascade revokes its grants and denies its requests
  pave teams members TEAM                           list members
  pave teams add-member TEAM USER ROLE              role: viewer, developer, maintainer, admin
  pave teams remove-member TEAM USER
  pave teams add-service-account TEAM NAME ROLE
  pave teams remove-service-account TEAM NAME
  pave tokens create [--user U | --service-account TEAM/NAME] [--name N] [--expires-in 720h]
  pave tokens list [--subject S]
  pave tokens revoke ID
  pave roles USER [platform-admin] [auditor]        replace a user's platform roles
  pave audit list [--team T] [--actor A] [--action X] [--since RFC3339] [--until RFC3339] [--limit N]
  pave audit verify                                 walk the hash chain; name the first bad record

The token is shown once, by 'tokens create'. Flags of every command:
--server, --token-file, --config, -o table|json (see 'pave help config').
`

// accessCall is one API call a subcommand makes.
type accessCall struct {
	method, path string
	body         any
}

func runAccess(cmd string, args []string, stdout io.Writer) error {
	fs := newFlagSet("pave "+cmd, accessUsage, stdout)
	cl := newClient(fs)
	user := fs.String("user", "", "tokens create: for this user (platform admins)")
	sa := fs.String("service-account", "", "tokens create: for this service account (TEAM/NAME)")
	name := fs.String("name", "", "tokens create: what the token is for")
	expires := fs.String("expires-in", "", "tokens create: lifetime (default 2160h, at most 8760h)")
	subject := fs.String("subject", "", "tokens list: whose tokens (platform admins; * for all)")
	team := fs.String("team", "", "audit list: only this team's records")
	actor := fs.String("actor", "", "audit list: only this actor's records")
	action := fs.String("action", "", "audit list: only this action")
	since := fs.String("since", "", "audit list: from this time (RFC 3339)")
	until := fs.String("until", "", "audit list: before this time (RFC 3339)")
	cascade := fs.Bool("cascade", false, "teams delete: also revoke the team's grants and deny its requests")
	limit := fs.Int("limit", 0, "lists: show at most this many (default: all; audit list: 1000)")
	sub := ""
	if cmd != "whoami" && cmd != "roles" {
		if len(args) == 0 {
			fmt.Fprint(stdout, accessUsage)
			return usagef("%s: a subcommand is required", cmd)
		}
		if isHelp(args[0]) {
			fmt.Fprint(stdout, accessUsage)
			return nil
		}
		sub, args = args[0], args[1:]
	}
	a, err := parseFlags(fs, args)
	if err != nil {
		return err
	}
	need := func(n int) error {
		if len(a) != n {
			return usagef("%s %s: %d argument(s) required (see 'pave %s -h')", cmd, sub, n, cmd)
		}
		return nil
	}
	var call accessCall
	switch cmd + " " + sub {
	case "whoami ":
		call = accessCall{http.MethodGet, "/v1/whoami", nil}
	case "roles ":
		if len(a) < 1 {
			return usagef("roles: USER is required")
		}
		call = accessCall{http.MethodPut, "/v1/users/" + url.PathEscape(a[0]) + "/roles", map[string]any{"roles": append([]string{}, a[1:]...)}}
	case "teams create":
		err = need(1)
		call = accessCall{http.MethodPost, "/v1/teams", map[string]any{"name": first(a)}}
	case "teams list":
		call = accessCall{http.MethodGet, "/v1/teams", nil}
	case "teams get", "teams delete", "teams members":
		err = need(1)
		method, suffix := http.MethodGet, ""
		if sub == "delete" {
			method = http.MethodDelete
		}
		if sub == "members" {
			suffix = "/members"
		}
		if sub == "delete" && *cascade {
			suffix = "?cascade=true"
		}
		call = accessCall{method, "/v1/teams/" + url.PathEscape(first(a)) + suffix, nil}
	case "teams add-member":
		if err = need(3); err == nil {
			call = accessCall{http.MethodPut, "/v1/teams/" + url.PathEscape(a[0]) + "/members/" + url.PathEscape(a[1]), map[string]any{"role": a[2]}}
		}
	case "teams remove-member":
		if err = need(2); err == nil {
			call = accessCall{http.MethodDelete, "/v1/teams/" + url.PathEscape(a[0]) + "/members/" + url.PathEscape(a[1]), nil}
		}
	case "teams add-service-account":
		if err = need(3); err == nil {
			call = accessCall{http.MethodPost, "/v1/teams/" + url.PathEscape(a[0]) + "/service-accounts", map[string]any{"name": a[1], "role": a[2]}}
		}
	case "teams remove-service-account":
		if err = need(2); err == nil {
			call = accessCall{http.MethodDelete, "/v1/teams/" + url.PathEscape(a[0]) + "/service-accounts/" + url.PathEscape(a[1]), nil}
		}
	case "tokens create":
		call = accessCall{http.MethodPost, "/v1/tokens", map[string]any{"user": *user, "service_account": *sa, "name": *name, "expires_in": *expires}}
	case "tokens list":
		call = accessCall{http.MethodGet, "/v1/tokens?subject=" + url.QueryEscape(*subject), nil}
	case "tokens revoke":
		err = need(1)
		call = accessCall{http.MethodDelete, "/v1/tokens/" + url.PathEscape(first(a)), nil}
	case "audit list":
		q := url.Values{}
		for k, v := range map[string]string{"team": *team, "actor": *actor, "action": *action, "since": *since, "until": *until} {
			if v != "" {
				q.Set(k, v)
			}
		}
		call = accessCall{http.MethodGet, "/v1/audit?" + q.Encode(), nil}
	case "audit verify":
		return verifyAudit(cl, stdout)
	default:
		fmt.Fprint(stdout, accessUsage)
		return usagef("unknown command %q", strings.TrimSpace(cmd+" "+sub))
	}
	if err != nil {
		return err
	}
	c, err := cl()
	if err != nil {
		return err
	}
	if columns, isList := accessColumns[cmd+" "+sub]; isList {
		if *limit == 0 && cmd == "audit" {
			*limit = 1000
		}
		return c.showList(stdout, call.path, *limit, columns)
	}
	return c.call(stdout, call.method, call.path, call.body, accessColumns[cmd+" "+sub])
}

// accessColumns are the table columns of the access lists.
var accessColumns = map[string][]column{
	"teams list":    cols("name", "created_at"),
	"teams members": cols("USER=user", "role", "ADDED=added_at"),
	"tokens list":   cols("id", "subject", "kind", "name", "created_at", "expires_at", "last_used_at", "revoked_at"),
	"audit list":    cols("time", "actor", "action", "resource", "decision", "route", "kind"),
}

func first(a []string) string {
	if len(a) == 0 {
		return ""
	}
	return a[0]
}

// verifyAudit asks the access service to walk the chain; a broken chain is
// an error naming the first record that does not match.
func verifyAudit(cl func() (*client, error), stdout io.Writer) error {
	c, err := cl()
	if err != nil {
		return err
	}
	var rep struct {
		OK       bool `json:"ok"`
		Records  int  `json:"records"`
		Segments int  `json:"segments"`
		Archived int  `json:"archived"`
		Broken   *struct {
			Segment string `json:"segment"`
			Seq     uint64 `json:"seq"`
			ID      string `json:"id"`
			Reason  string `json:"reason"`
		} `json:"broken"`
	}
	var raw json.RawMessage
	if err := c.do(http.MethodGet, "/v1/audit/verify", nil, &raw); err != nil {
		return err
	}
	if err := json.Unmarshal(raw, &rep); err != nil {
		return fmt.Errorf("decoding the audit verification: %w", err)
	}
	// A verdict: text unless JSON is asked for; scripts have the exit code.
	asJSON := c.output == "json"
	if asJSON {
		if err := printRaw(stdout, raw); err != nil {
			return err
		}
	}
	if !rep.OK && rep.Broken != nil {
		where := ""
		if rep.Broken.Segment != "" {
			where = " in archived segment " + rep.Broken.Segment
		}
		return fmt.Errorf("audit chain broken at record %d (%s)%s: %s; %d records before it verify",
			rep.Broken.Seq, rep.Broken.ID, where, rep.Broken.Reason, rep.Records)
	}
	if !asJSON {
		fmt.Fprintf(stdout, "audit chain ok: %d records", rep.Records)
		if rep.Segments > 0 {
			fmt.Fprintf(stdout, " (%d of them in %d archived segments)", rep.Archived, rep.Segments)
		}
		fmt.Fprintln(stdout)
	}
	return nil
}
