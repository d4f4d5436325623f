// Package access is the access service: identities, tokens and decisions.
// Today it authenticates API tokens and owns the bootstrap admin token;
// roles, Cedar policies and JIT grants come with the access issue.
package access

import (
	"context"
	"log/slog"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/nats-io/nats.go/micro"
	"go.uber.org/fx"

	"github.com/pave-platform/pave/pkg/bus"
	"github.com/pave-platform/pave/pkg/config"
	"github.com/pave-platform/pave/pkg/service"
	"github.com/pave-platform/pave/services/access/internal/adapters"
	"github.com/pave-platform/pave/services/access/internal/app"
	"github.com/pave-platform/pave/services/access/internal/ports"
)

// Name of the service, its streams and its subjects.
const Name = "access"

// Config is the access service's configuration.
type Config struct {
	// BootstrapToken registers an operator-supplied first admin token.
	BootstrapToken string `env:"PAVE_BOOTSTRAP_TOKEN"`
	// BootstrapTokenFile holds the first admin token; generated at the
	// first start when the file does not exist.
	BootstrapTokenFile string `env:"PAVE_BOOTSTRAP_TOKEN_FILE"`
}

// Module runs the access service.
var Module = fx.Module(Name,
	service.Lifecycle(Name),
	fx.Invoke(run),
)

func run(lc fx.Lifecycle, nc *nats.Conn, js jetstream.JetStream, so bus.StreamOptions, log *slog.Logger) error {
	var cfg Config
	if err := config.Load(&cfg); err != nil {
		return err
	}
	log = log.With("service", Name)
	var svc micro.Service
	lc.Append(fx.StartStopHook(
		func(ctx context.Context) error {
			tokens, err := adapters.NewKVTokens(ctx, js, so.Replicas)
			if err != nil {
				return err
			}
			generated, err := app.NewBootstrap(tokens).Ensure(ctx, cfg.BootstrapToken, cfg.BootstrapTokenFile)
			if err != nil {
				return err
			}
			if generated {
				log.Info("bootstrap admin token created", "file", cfg.BootstrapTokenFile)
			}
			svc, err = ports.ServeAuthn(nc, app.NewAuthenticate(tokens), log)
			return err
		},
		func() error {
			if svc == nil {
				return nil
			}
			return svc.Stop()
		},
	))
	return nil
}
