package main

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"time"

	"go.uber.org/fx"

	"github.com/pave-platform/pave/pkg/httpfx"
	"github.com/pave-platform/pave/pkg/localsrv"
	"github.com/pave-platform/pave/pkg/natsfx"
	"github.com/pave-platform/pave/pkg/platformfx"
	"github.com/pave-platform/pave/services/gateway"
)

// startGateway runs the gateway through its public module on the
// platform, as pave dev does, against an embedded JetStream server
// (SyncAlways), with one repository mapped to the bench's secret. It
// returns the base URL of the gateway's HTTP server.
func startGateway(dir, dedup string) (string, func(), error) {
	ctx := context.Background()
	srv, err := natsfx.StartEmbedded(natsfx.EmbeddedConfig{StoreDir: filepath.Join(dir, "js"), Host: "127.0.0.1", Port: -1})
	if err != nil {
		return "", nil, err
	}
	cleanup := []func(){srv.Shutdown}
	stop := func() {
		for i := len(cleanup) - 1; i >= 0; i-- {
			cleanup[i]()
		}
	}
	fail := func(err error) (string, func(), error) { stop(); return "", nil, err }

	file := filepath.Join(dir, "repositories.yaml")
	yaml := "repositories:\n  - provider: github\n    repository: Codertocat/Hello-World\n    team: demo\n    template: preview\n" +
		"    secrets: [{env: WEBHOOKBENCH_SECRET}]\n"
	if err := os.WriteFile(file, []byte(yaml), 0o600); err != nil {
		return fail(err)
	}
	env := map[string]string{
		"WEBHOOKBENCH_SECRET":    secret,
		"PAVE_NATS_URL":          srv.ClientURL(),
		"PAVE_DATA_DIR":          dir,
		"PAVE_HTTP_ADDR":         "127.0.0.1:0",
		"PAVE_REPOSITORIES_FILE": file,
		"PAVE_LOG_LEVEL":         "error+8", // refused deliveries show in the figures
		"OTEL_SERVICE_NAME":      "webhookbench",
	}
	switch dedup {
	case "kv":
	case "redis": // append-only file, fsync every second, as a scaled-out gateway with PAVE_REDIS_URL
		rs, err := localsrv.StartRedis(ctx, localsrv.RedisConfig{Dir: filepath.Join(dir, "redis"), AppendOnly: true})
		if err != nil {
			return fail(err)
		}
		cleanup = append(cleanup, func() { _ = rs.Stop() })
		env["PAVE_REDIS_URL"] = "redis://" + rs.Addr()
	default:
		return fail(fmt.Errorf("-dedup %q: kv or redis", dedup))
	}
	for k, v := range env {
		if err := os.Setenv(k, v); err != nil {
			return fail(err)
		}
	}
	var hs *httpfx.Server
	app := fx.New(platformfx.App(gateway.Module), fx.Populate(&hs), fx.NopLogger)
	sctx, cancel := context.WithTimeout(ctx, platformfx.StopTimeout)
	defer cancel()
	if err := app.Start(sctx); err != nil {
		return fail(fmt.Errorf("start the gateway: %w", err))
	}
	cleanup = append(cleanup, func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		_ = app.Stop(ctx)
	})
	url := "http://" + hs.Addr()
	if err := waitReady(url); err != nil {
		return fail(err)
	}
	return url, stop, nil
}

// waitReady waits until the gateway's HTTP server answers.
func waitReady(url string) error {
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		resp, err := http.Get(url + "/readyz")
		if err == nil {
			_ = resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
		}
		time.Sleep(100 * time.Millisecond)
	}
	return fmt.Errorf("the gateway at %s was not ready in 30s", url)
}
