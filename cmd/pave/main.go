// Command pave is the Pave CLI. `pave dev` runs all of Pave in one process.
package main

import (
	"fmt"
	"os"
)

const usage = `pave — the internal developer platform

Usage:
  pave dev [flags]     run every service in one process with an embedded JetStream server
  pave runner [flags]  run admitted jobs of a pool as OS processes
  pave workloads ...   submit, get, list and cancel workloads (jobs)
  pave pools           pools, capacity and usage
  pave teams ...       teams, members and service accounts
  pave tokens ...      issue, list and revoke API tokens
  pave roles USER R..  set a user's platform roles
  pave audit ...       query the audit ledger; verify its hash chain
  pave version         print the version

Run 'pave dev -h' for its flags.
`

func main() {
	if len(os.Args) < 2 {
		fmt.Fprint(os.Stderr, usage)
		os.Exit(2)
	}
	var err error
	switch os.Args[1] {
	case "dev":
		err = runDev(os.Args[2:])
	case "workloads":
		err = runWorkloads(os.Args[2:], os.Stdout)
	case "pools":
		err = runPools(os.Args[2:], os.Stdout)
	case "teams", "tokens", "roles", "audit", "whoami":
		err = runAccess(os.Args[1], os.Args[2:], os.Stdout)
	case "runner":
		err = runRunner(os.Args[2:])
	case "bench-environments":
		err = runEnvBench(os.Args[2:])
	case "version":
		fmt.Println(version())
	case "-h", "--help", "help":
		fmt.Print(usage)
	default:
		fmt.Fprintf(os.Stderr, "pave: unknown command %q\n\n%s", os.Args[1], usage)
		os.Exit(2)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "pave:", err)
		os.Exit(1)
	}
}
