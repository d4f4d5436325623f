package main

import (
	"flag"
	"os"
	"strconv"

	"go.uber.org/fx"

	"github.com/pave-platform/pave/pkg/natsfx"
	"github.com/pave-platform/pave/pkg/platformfx"
	"github.com/pave-platform/pave/services/scheduler/runner"
)

// runRunner runs `pave runner`: the executor of a pool's admitted jobs, as
// its own process. It connects to PAVE_NATS_URL, by default the embedded
// server of a `pave dev` on this machine.
func runRunner(args []string) error {
	fs := flag.NewFlagSet("pave runner", flag.ContinueOnError)
	pool := fs.String("pool", os.Getenv("PAVE_RUNNER_POOL"), "the pool whose jobs to run (PAVE_RUNNER_POOL)")
	slots := fs.Int("slots", envInt("PAVE_RUNNER_SLOTS", 0), "jobs at once; 0 means no limit (PAVE_RUNNER_SLOTS)")
	nats := fs.String("nats", envOr("PAVE_NATS_URL", "nats://127.0.0.1:4222"), "NATS server (PAVE_NATS_URL)")
	addr := fs.String("addr", envOr("PAVE_HTTP_ADDR", "127.0.0.1:0"), "address of /healthz, /readyz and /metrics")
	if err := fs.Parse(args); err != nil {
		return err
	}
	for k, v := range map[string]string{"PAVE_RUNNER_POOL": *pool, "PAVE_RUNNER_SLOTS": strconv.Itoa(*slots),
		"PAVE_NATS_URL": *nats, "PAVE_HTTP_ADDR": *addr} {
		if err := os.Setenv(k, v); err != nil {
			return err
		}
	}
	devLogin()
	app := fx.New(platformfx.App(runner.Module))
	if err := app.Err(); err != nil {
		return err
	}
	app.Run()
	return nil
}

func envInt(k string, def int) int {
	if n, err := strconv.Atoi(os.Getenv(k)); err == nil {
		return n
	}
	return def
}

// devLogin lets a runner on the machine of a `pave dev` log in to its
// server as the runner user (whose permissions cover only a runner's
// subjects), when no login is configured. A data dir made before that
// user existed has only the platform's password.
func devLogin() {
	if os.Getenv("PAVE_NATS_USER") != "" || os.Getenv("PAVE_NATS_CREDS") != "" || os.Getenv("PAVE_NATS_TOKEN") != "" {
		return
	}
	cfg := natsfx.Config{DataDir: envOr("PAVE_DATA_DIR", ".pave")}
	for _, user := range []string{natsfx.RunnerUser, natsfx.PlatformUser} {
		file := natsfx.PasswordFile(cfg.CredentialsDir(), user)
		if _, err := os.Stat(file); err == nil {
			_ = os.Setenv("PAVE_NATS_USER", user)
			_ = os.Setenv("PAVE_NATS_PASSWORD_FILE", file)
			return
		}
	}
}
