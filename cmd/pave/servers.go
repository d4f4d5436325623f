package main

import (
	"io"
	"net/http"
	"net/url"
	"strings"
)

const serversUsage = `Usage:
  pave servers                       provisioning's servers, one per driver, and any declared gone
  pave servers gone DRIVER --reason WHY
                                     declare a driver's server lost for good (platform admins):
                                     resources on it still waiting for an undo, sanitize or
                                     delete are written off as abandoned, naming this declaration
  pave servers restore DRIVER        take the declaration back
`

func runServers(args []string, stdout io.Writer) error {
	sub := ""
	if len(args) > 0 && (args[0] == "gone" || args[0] == "restore") {
		sub, args = args[0], args[1:]
	}
	fs := newFlagSet(strings.TrimSpace("pave servers "+sub), serversUsage, stdout)
	cf := addClientFlags(fs)
	switch sub {
	case "gone":
		reason := fs.String("reason", "", "why the server is gone for good (required)")
		a, c, err := parseWithClient(fs, cf, args, 1, "DRIVER")
		if err != nil {
			return err
		}
		if strings.TrimSpace(*reason) == "" {
			return usagef("servers gone: --reason is required: say why the server is gone for good")
		}
		return c.call(stdout, http.MethodPut, "/v1/servers/"+url.PathEscape(a[0])+"/gone",
			map[string]string{"reason": *reason}, cols("driver", "by", "at", "reason"))
	case "restore":
		a, c, err := parseWithClient(fs, cf, args, 1, "DRIVER")
		if err != nil {
			return err
		}
		return c.call(stdout, http.MethodDelete, "/v1/servers/"+url.PathEscape(a[0])+"/gone", nil, nil)
	}
	_, c, err := parseWithClient(fs, cf, args, 0, "no arguments")
	if err != nil {
		return err
	}
	return c.call(stdout, http.MethodGet, "/v1/servers", nil, cols("driver", "configured", "gone.by", "gone.at", "gone.reason"))
}
