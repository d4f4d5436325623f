// Command pave is the Pave CLI. `pave dev` runs all of Pave in one process.
package main

import (
	"errors"
	"flag"
	"fmt"
	"os"
)

const usage = `pave — the internal developer platform

Usage:
  pave login           check an API token and save it with the server in the config file
  pave env ...         create (with live progress), list, get, delete, extend environments
  pave templates [N]   the template catalog, or one template's parameters and resources
  pave promote ...     promote a revision to the next stage; promotion history
  pave access ...      request, approve and list just-in-time access
  pave workloads ...   submit, get, list and cancel workloads (jobs)
  pave pools           pools, capacity and usage
  pave costs ...       spend by team, environment, ...; estimates; FOCUS export
  pave budgets [TEAM]  budgets and how much of them is spent
  pave teams ...       teams, members and service accounts
  pave tokens ...      issue, list and revoke API tokens
  pave roles USER R..  set a user's platform roles
  pave audit ...       query the audit ledger; verify its hash chain
  pave whoami          who the token belongs to
  pave dev [flags]     run every service in one process with an embedded JetStream server
  pave runner [flags]  run admitted jobs of a pool as OS processes
  pave version         print the version

Run 'pave COMMAND -h' for a command's flags, 'pave help config' for settings.
`

const configHelp = `Every API command takes these flags; each setting comes from the flag,
else the environment, else the config file, else the default:

  --server URL       PAVE_SERVER   server:      http://localhost:8080
  --token-file F     PAVE_TOKEN    token: or token_file:
                                                 $PAVE_DATA_DIR/token (what 'pave dev' writes)
  -o table|json      PAVE_OUTPUT   output:      table on a terminal, json otherwise
  --config F         PAVE_CONFIG                 $XDG_CONFIG_HOME/pave/config.yaml,
                                                 else ~/.config/pave/config.yaml

The config file is YAML with the keys server, token, token_file and output;
another key is an error naming it. 'pave login' writes it with mode 0600; a
config holding a token that others may read is refused.

-o json prints the API's JSON as it is (lists: {"items": [...]}, every page).

Exit codes: 0 done; 1 failed (an API error, a failed environment); 2 usage
error; 3 not found (404).
`

func main() {
	if len(os.Args) < 2 {
		fmt.Fprint(os.Stderr, usage)
		os.Exit(exitUsage)
	}
	var err error
	switch os.Args[1] {
	case "login":
		err = runLogin(os.Args[2:], os.Stdin, os.Stdout, os.Stderr)
	case "env", "environments":
		err = runEnv(os.Args[2:], os.Stdout, os.Stderr)
	case "templates":
		err = runTemplates(os.Args[2:], os.Stdout)
	case "costs":
		err = runCosts(os.Args[2:], os.Stdout)
	case "budgets":
		err = runBudgets(os.Args[2:], os.Stdout)
	case "dev":
		err = runDev(os.Args[2:])
	case "workloads":
		err = runWorkloads(os.Args[2:], os.Stdout)
	case "pools":
		err = runPools(os.Args[2:], os.Stdout)
	case "teams", "tokens", "roles", "audit", "whoami":
		err = runAccess(os.Args[1], os.Args[2:], os.Stdout)
	case "access":
		err = runJIT(os.Args[2:], os.Stdout)
	case "promote", "promotions":
		err = runPromote(os.Args[1], os.Args[2:], os.Stdout)
	case "runner":
		err = runRunner(os.Args[2:])
	case "bench-environments":
		err = runEnvBench(os.Args[2:])
	case "bench-api":
		err = runAPIBench(os.Args[2:])
	case "version":
		fmt.Println(version())
	case "-h", "--help", "help":
		if len(os.Args) > 2 && os.Args[2] == "config" {
			fmt.Print(configHelp)
		} else {
			fmt.Print(usage)
		}
	default:
		fmt.Fprintf(os.Stderr, "pave: unknown command %q\n\n%s", os.Args[1], usage)
		os.Exit(exitUsage)
	}
	switch {
	case err == nil:
	case errors.Is(err, flag.ErrHelp):
	default:
		fmt.Fprintln(os.Stderr, "pave:", err)
		os.Exit(exitCode(err))
	}
}
