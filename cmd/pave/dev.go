package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"net"
	"os"
	"os/user"
	"path/filepath"
	"strconv"

	"go.uber.org/fx"

	"github.com/pave-platform/pave/pkg/httpfx"
	"github.com/pave-platform/pave/pkg/natsfx"
	"github.com/pave-platform/pave/pkg/platformfx"
	"github.com/pave-platform/pave/pkg/service"
	"github.com/pave-platform/pave/services/access"
	"github.com/pave-platform/pave/services/cost"
	"github.com/pave-platform/pave/services/gateway"
	"github.com/pave-platform/pave/services/lifecycle"
	"github.com/pave-platform/pave/services/provisioning"
	"github.com/pave-platform/pave/services/scheduler"
	"github.com/pave-platform/pave/services/scheduler/runner"
)

func version() string { return "pave " + service.Version }

// devDefaults are the settings `pave dev` applies unless the environment
// already sets them: everything under one data folder, text logs.
func devDefaults(dataDir, addr string) map[string]string {
	d := map[string]string{
		"PAVE_DATA_DIR":             dataDir,
		"PAVE_HTTP_ADDR":            addr,
		"PAVE_BOOTSTRAP_TOKEN_FILE": filepath.Join(dataDir, "token"),
		"PAVE_LOG_FORMAT":           "text",
		"PAVE_RUNNER_POOL":          "batch",
	}
	// The runner's spool (reports not yet published, admissions it ran)
	// lives with the rest of the data, so it survives a restart.
	if abs, err := filepath.Abs(filepath.Join(dataDir, "runner-spool")); err == nil {
		d["PAVE_RUNNER_SPOOL_DIR"] = abs
	}
	// From the repository (make run), the cost service loads the shipped
	// rate card; elsewhere its built-in copy.
	if _, err := os.Stat(shippedRateCard); err == nil {
		d["PAVE_COST_RATECARDS"] = shippedRateCard
	}
	// Likewise the shipped Cedar policies (elsewhere the built-in copy).
	if _, err := os.Stat(shippedPolicies); err == nil {
		d["PAVE_POLICIES_DIR"] = shippedPolicies
	}
	// And the demo repositories of the webhooks, whose secret is
	// generated into the data folder (webhook-secret).
	if _, err := os.Stat(shippedRepositories); err == nil {
		d["PAVE_REPOSITORIES_FILE"] = shippedRepositories
	}
	// And the demo applications and their promotion pipelines.
	if _, err := os.Stat("deploy/applications.yaml"); err == nil {
		d["PAVE_APPLICATIONS_FILE"] = "deploy/applications.yaml"
	}
	return d
}

// shippedRateCard is the rate card make run loads.
const shippedRateCard = "deploy/cost/ratecards.yaml"

// shippedPolicies are the Cedar policies make run loads.
const shippedPolicies = "deploy/policies"

// shippedRepositories is the demo webhook mapping make run loads.
const shippedRepositories = "deploy/repositories.yaml"

func runDev(args []string) error {
	fs := flag.NewFlagSet("pave dev", flag.ContinueOnError)
	dataDir := fs.String("data", envOr("PAVE_DATA_DIR", ".pave"), "folder for JetStream data and the admin token")
	addr := fs.String("addr", envOr("PAVE_HTTP_ADDR", ":8080"), "address of the API")
	if err := fs.Parse(args); err != nil {
		return err
	}
	for k, v := range devDefaults(*dataDir, *addr) {
		if _, set := os.LookupEnv(k); !set || k == "PAVE_DATA_DIR" || k == "PAVE_HTTP_ADDR" {
			if err := os.Setenv(k, v); err != nil {
				return err
			}
		}
	}
	if err := prepareDataDir(*dataDir); err != nil {
		return err
	}
	targets, err := startLocalTargets(context.Background(), *dataDir, os.Stdout)
	if err != nil {
		return err
	}
	defer targets.stop()
	app := fx.New(devApp(os.Stdout), targets.readiness())
	if err := app.Err(); err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(context.Background(), platformfx.StopTimeout)
	defer cancel()
	if err := app.Start(ctx); err != nil {
		return err
	}
	sig := <-app.Wait()
	stopCtx, stopCancel := context.WithTimeout(context.Background(), platformfx.StopTimeout)
	defer stopCancel()
	if err := app.Stop(stopCtx); err != nil {
		return err
	}
	if sig.ExitCode != 0 {
		return fmt.Errorf("exit code %d", sig.ExitCode)
	}
	return nil
}

// prepareDataDir makes the data folder private to Pave (0700): it holds
// the admin token, the master key and the JetStream store, and jobs run
// as another user. A root-run PostgreSQL switches to the postgres OS user,
// which must traverse it to its own folder: then the folder's group is
// postgres' and the group may enter, not list (0710).
func prepareDataDir(dir string) error {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return err
	}
	mode := os.FileMode(0o700)
	if os.Geteuid() == 0 {
		if pg, err := user.Lookup("postgres"); err == nil {
			gid, err := strconv.Atoi(pg.Gid)
			if err != nil {
				return fmt.Errorf("data folder %s: gid of postgres: %w", dir, err)
			}
			if err := os.Chown(dir, 0, gid); err != nil {
				return fmt.Errorf("data folder %s: %w", dir, err)
			}
			mode = 0o710
		}
	}
	if err := os.Chmod(dir, mode); err != nil {
		return fmt.Errorf("data folder %s: %w", dir, err)
	}
	return nil
}

// devApp is every service in one process, then a welcome note.
func devApp(out io.Writer) fx.Option {
	return fx.Options(
		platformfx.App(
			access.Module,
			gateway.Module,
			lifecycle.Module,
			provisioning.Module,
			cost.Module,
			scheduler.Module,
			// pave dev's own runner logs in as a pave runner does.
			fx.Module("dev-runner", platformfx.ServiceConn(natsfx.RunnerUser), runner.Module),
		),
		fx.Invoke(func(lc fx.Lifecycle, srv *httpfx.Server) {
			lc.Append(fx.StartHook(func(context.Context) error {
				welcome(out, srv.Addr(), os.Getenv("PAVE_BOOTSTRAP_TOKEN_FILE"))
				return nil
			}))
		}),
	)
}

func welcome(w io.Writer, bound, tokenFile string) {
	addr := reachable(bound)
	fmt.Fprintf(w, `
Pave is running: every service in one process, data in %s.

  portal       http://%s/ (sign in with the admin token)
  API          http://%s
  health       curl %s/healthz
  admin token  %s (keep it secret)
  try          curl -H "Authorization: Bearer $(cat %s)" %s/v1/events/types

Stop with Ctrl-C; data and the token survive a restart.
`, filepath.Dir(tokenFile), addr, addr, "http://"+addr, tokenFile, tokenFile, "http://"+addr)
}

// reachable turns a bound address such as [::]:8080 into one a person can
// paste into curl.
func reachable(bound string) string {
	host, port, err := net.SplitHostPort(bound)
	if err != nil {
		return bound
	}
	if ip := net.ParseIP(host); host == "" || (ip != nil && ip.IsUnspecified()) {
		host = "localhost"
	}
	return net.JoinHostPort(host, port)
}

func envOr(k, def string) string {
	if v, ok := os.LookupEnv(k); ok && v != "" {
		return v
	}
	return def
}
