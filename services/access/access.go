// Package access is the access service: identities, tokens, decisions and
// the audit ledger. JIT grants, break-glass, reviews and drift are not
// built yet (their routes answer 501).
package access

import (
	"context"
	"errors"
	"log/slog"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/nats-io/nats.go/micro"
	"go.uber.org/fx"

	"github.com/pave-platform/pave/pkg/bus"
	"github.com/pave-platform/pave/pkg/config"
	"github.com/pave-platform/pave/pkg/service"
	"github.com/pave-platform/pave/services/access/audit"
	"github.com/pave-platform/pave/services/access/decide"
	"github.com/pave-platform/pave/services/access/internal/adapters"
	"github.com/pave-platform/pave/services/access/internal/app"
	"github.com/pave-platform/pave/services/access/internal/domain"
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
	// Policies are the Cedar policies and schema (PAVE_POLICIES_DIR).
	Policies decide.Config
}

// BootstrapAdmin is the identity of the bootstrap token: the first
// platform admin.
const BootstrapAdmin = "bootstrap-admin"

// Module runs the access service.
var Module = fx.Module(Name,
	service.Lifecycle(Name),
	fx.Invoke(run),
)

type stopper interface{ Stop() error }

func run(lc fx.Lifecycle, nc *nats.Conn, js jetstream.JetStream, so bus.StreamOptions, log *slog.Logger) error {
	var cfg Config
	if err := config.Load(&cfg); err != nil {
		return err
	}
	// An invalid policy stops the start, naming file, line and reason.
	policies, err := decide.Load(cfg.Policies)
	if err != nil {
		return err
	}
	log = log.With("service", Name)
	var running []stopper
	lc.Append(fx.StartStopHook(
		func(ctx context.Context) error {
			tokens, err := adapters.NewKVTokens(ctx, js, so.Replicas)
			if err != nil {
				return err
			}
			dir, err := adapters.NewKVDirectory(ctx, js, so.Replicas)
			if err != nil {
				return err
			}
			running = append(running, dir)
			generated, err := app.NewBootstrap(tokens).Ensure(ctx, cfg.BootstrapToken, cfg.BootstrapTokenFile)
			if err != nil {
				return err
			}
			if generated {
				log.Info("bootstrap admin token created", "file", cfg.BootstrapTokenFile)
			}
			if _, ok := dir.User(BootstrapAdmin); !ok {
				err := dir.PutUser(ctx, domain.User{ID: BootstrapAdmin, Roles: []string{domain.RolePlatformAdmin}})
				if err != nil {
					return err
				}
			}
			ledger := audit.NewLedger(js)
			authn, err := ports.ServeAuthn(nc, app.NewAuthenticate(tokens, dir), log)
			if err != nil {
				return err
			}
			running = append(running, microStopper{authn})
			api, err := ports.ServeAPI(nc, ports.API{
				Identities: app.NewIdentities(dir, ledger), Tokens: app.NewTokens(tokens, dir, ledger),
				Dir: dir, JS: js, Log: log,
			})
			if err != nil {
				return err
			}
			running = append(running, api)
			authz, err := ports.ServeAuthorize(nc, decide.New(policies), ledger, log)
			if err != nil {
				return err
			}
			running = append(running, authz)
			return nil
		},
		func() error {
			var errs []error
			for i := len(running) - 1; i >= 0; i-- {
				errs = append(errs, running[i].Stop())
			}
			return errors.Join(errs...)
		},
	))
	return nil
}

type microStopper struct{ micro.Service }

func (m microStopper) Stop() error { return m.Service.Stop() }
