package main

import (
	"bufio"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"strings"
)

const loginUsage = `Usage:
  pave login [--server URL] [--token-stdin | --token T | --token-file F]

Checks the token with the API (GET /v1/whoami), then writes the server and
the token to the config file (mode 0600; --config, PAVE_CONFIG, default
$XDG_CONFIG_HOME/pave/config.yaml or ~/.config/pave/config.yaml). Without a
token flag it asks for one on stdin. Get a token with 'pave tokens create'.
`

func runLogin(args []string, stdin io.Reader, stdout, stderr io.Writer) error {
	fs := newFlagSet("pave login", loginUsage, stdout)
	cf := addClientFlags(fs)
	token := fs.String("token", "", "the API token (visible to other users in the process list: prefer --token-stdin)")
	fromStdin := fs.Bool("token-stdin", false, "read the token from stdin")
	a, err := parseFlags(fs, args)
	if err != nil {
		return err
	}
	if len(a) != 0 {
		return usagef("login: no arguments (did you mean --server %s?)", a[0])
	}
	s, err := cf.settings()
	if err != nil {
		return err
	}
	set := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { set[f.Name] = true })
	if (set["token"] && *fromStdin) || (set["token-file"] && (set["token"] || *fromStdin)) {
		return usagef("login: give one of --token, --token-stdin and --token-file")
	}
	tok, err := loginToken(set, *token, *cf.tokenFile, *fromStdin, stdin, stderr)
	if err != nil {
		return err
	}
	c := newAPIClient(s.server, tok, s.output)
	var raw json.RawMessage
	if err := c.do(http.MethodGet, "/v1/whoami", nil, &raw); err != nil {
		return fmt.Errorf("login to %s: %w", s.server, err)
	}
	cfg := s.file
	cfg.Server, cfg.Token, cfg.TokenFile = s.server, tok, ""
	if err := saveConfig(s.configPath, cfg); err != nil {
		return err
	}
	if !c.table(stdout) {
		return printRaw(stdout, raw)
	}
	var me struct {
		ID, Kind, Name string
		Roles          []string
		Teams          []string
	}
	_ = json.Unmarshal(raw, &me)
	fmt.Fprintf(stdout, "logged in to %s as %s (%s)\n", s.server, firstOf(me.Name, me.ID), me.Kind)
	if len(me.Roles) > 0 {
		fmt.Fprintf(stdout, "platform roles: %s\n", strings.Join(me.Roles, ", "))
	}
	if len(me.Teams) > 0 {
		fmt.Fprintf(stdout, "teams: %s\n", strings.Join(me.Teams, ", "))
	}
	fmt.Fprintf(stdout, "saved to %s (mode 0600)\n", s.configPath)
	return nil
}

// loginToken is the token from --token, --token-file or stdin (asked
// for on a terminal).
func loginToken(set map[string]bool, token, file string, fromStdin bool, stdin io.Reader, stderr io.Writer) (string, error) {
	switch {
	case set["token"]:
		token = strings.TrimSpace(token)
	case set["token-file"]:
		raw, err := os.ReadFile(file)
		if err != nil {
			return "", fmt.Errorf("reading the token: %w", err)
		}
		token = strings.TrimSpace(string(raw))
	default:
		if f, ok := stdin.(*os.File); ok && !fromStdin && isTerminal(f) {
			fmt.Fprint(stderr, "API token (from 'pave tokens create'): ")
		}
		line, err := bufio.NewReader(stdin).ReadString('\n')
		if err != nil && !errors.Is(err, io.EOF) {
			return "", fmt.Errorf("reading the token from stdin: %w", err)
		}
		token = strings.TrimSpace(line)
	}
	if token == "" {
		return "", usagef("login: the token is empty")
	}
	return token, nil
}
