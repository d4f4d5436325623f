package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/nats-io/nats.go"
	"go.uber.org/fx"

	"github.com/pave-platform/pave/pkg/natsfx"
	"github.com/pave-platform/pave/pkg/platformfx"
	"github.com/pave-platform/pave/services/access"
)

// startAccess runs the access service through its public module on the
// platform, as pave dev does, against an embedded JetStream server
// (SyncAlways) that the bench connects to as a client.
func startAccess(dir, policyDir string) (*nats.Conn, func(), error) {
	srv, err := natsfx.StartEmbedded(natsfx.EmbeddedConfig{StoreDir: filepath.Join(dir, "js"), Host: "127.0.0.1", Port: -1})
	if err != nil {
		return nil, nil, err
	}
	env := map[string]string{
		"PAVE_NATS_URL":             srv.ClientURL(),
		"PAVE_DATA_DIR":             dir,
		"PAVE_HTTP_ADDR":            "127.0.0.1:0",
		"PAVE_POLICIES_DIR":         policyDir,
		"PAVE_BOOTSTRAP_TOKEN_FILE": filepath.Join(dir, "token"),
		"PAVE_LOG_LEVEL":            "error+8", // the figures, not the service's logs
		"OTEL_SERVICE_NAME":         "accessbench",
	}
	for k, v := range env {
		if err := os.Setenv(k, v); err != nil {
			srv.Shutdown()
			return nil, nil, err
		}
	}
	app := fx.New(platformfx.App(access.Module), fx.NopLogger)
	ctx, cancel := context.WithTimeout(context.Background(), platformfx.StopTimeout)
	defer cancel()
	if err := app.Start(ctx); err != nil {
		srv.Shutdown()
		return nil, nil, fmt.Errorf("start the access service: %w", err)
	}
	nc, err := nats.Connect(srv.ClientURL())
	if err != nil {
		_ = app.Stop(context.Background())
		srv.Shutdown()
		return nil, nil, err
	}
	stop := func() {
		nc.Close()
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		_ = app.Stop(ctx)
		srv.Shutdown()
	}
	return nc, stop, nil
}
