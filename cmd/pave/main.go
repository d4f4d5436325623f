// Command pave is the Pave CLI. `pave dev` runs all of Pave in one process.
package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
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
  pave events types .. custom event types of a team, with their JSON Schemas
  pave automations ..  rules that turn events into actions, and their runs
  pave dora --team T   the four DORA metrics of a team or an application
  pave teams ...       teams, members and service accounts
  pave tokens ...      issue, list and revoke API tokens
  pave roles USER R..  set a user's platform roles
  pave audit ...       query the audit ledger; verify its hash chain
  pave whoami          who the token belongs to
  pave servers ...     provisioning's servers; declare one gone for good
  pave subscriptions . send events to HTTPS endpoints, Slack or Teams; deliveries, replay
  pave alerts ...      list and acknowledge alerts (budget, spike, drift, saga, break-glass)
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
	os.Exit(run(os.Args[1:], os.Stdin, os.Stdout, os.Stderr))
}

// run is the CLI on args (without the program name); it returns the exit
// code. Asking for help (-h, --help, help) anywhere is a success.
func run(args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	if len(args) < 1 {
		fmt.Fprint(stderr, usage)
		return exitUsage
	}
	var err error
	switch args[0] {
	case "login":
		err = runLogin(args[1:], stdin, stdout, stderr)
	case "env", "environments":
		err = runEnv(args[1:], stdout, stderr)
	case "templates":
		err = runTemplates(args[1:], stdout)
	case "costs":
		err = runCosts(args[1:], stdout)
	case "events":
		err = runEvents(args[1:], stdout)
	case "automations":
		err = runAutomations(args[1:], stdout)
	case "dora":
		err = runDora(args[1:], stdout)
	case "budgets":
		err = runBudgets(args[1:], stdout)
	case "dev":
		err = runDev(args[1:])
	case "workloads":
		err = runWorkloads(args[1:], stdout)
	case "pools":
		err = runPools(args[1:], stdout)
	case "teams", "tokens", "roles", "audit", "whoami":
		err = runAccess(args[0], args[1:], stdout)
	case "access":
		err = runJIT(args[1:], stdout)
	case "promote", "promotions":
		err = runPromote(args[0], args[1:], stdout)
	case "servers":
		err = runServers(args[1:], stdout)
	case "subscriptions", "alerts":
		err = runSubscriptions(args[0], args[1:], stdout)
	case "runner":
		err = runRunner(args[1:])
	case "bench-environments":
		err = runEnvBench(args[1:])
	case "bench-api":
		err = runAPIBench(args[1:])
	case "version":
		fmt.Fprintln(stdout, version())
	case "-h", "--help", "help":
		if len(args) > 1 && args[1] == "config" {
			fmt.Fprint(stdout, configHelp)
		} else {
			fmt.Fprint(stdout, usage)
		}
	default:
		fmt.Fprintf(stderr, "pave: unknown command %q\n\n%s", args[0], usage)
		return exitUsage
	}
	switch {
	case err == nil, errors.Is(err, flag.ErrHelp):
		return 0
	default:
		fmt.Fprintln(stderr, "pave:", err)
		return exitCode(err)
	}
}

// isHelp reports whether a subcommand position asks for help.
func isHelp(arg string) bool { return arg == "-h" || arg == "--help" || arg == "help" }
