// Package access is the access service: identities, tokens (and optional
// OIDC JWTs), decisions, the audit ledger, and just-in-time access:
// requests and approvals, grants with their timer, break-glass and access
// reviews (internal/jit). Grants become real credentials elsewhere, from
// the grant events.
package access

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/nats-io/nats.go/micro"
	"go.opentelemetry.io/otel/metric"
	"go.uber.org/fx"

	"github.com/pave-platform/pave/pkg/bus"
	"github.com/pave-platform/pave/pkg/config"
	"github.com/pave-platform/pave/pkg/service"
	"github.com/pave-platform/pave/services/access/audit"
	"github.com/pave-platform/pave/services/access/decide"
	"github.com/pave-platform/pave/services/access/internal/adapters"
	"github.com/pave-platform/pave/services/access/internal/app"
	"github.com/pave-platform/pave/services/access/internal/domain"
	"github.com/pave-platform/pave/services/access/internal/jit"
	"github.com/pave-platform/pave/services/access/internal/ports"
	"github.com/pave-platform/pave/services/access/internal/teams"
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
	// JIT are the approval rules of just-in-time access.
	JIT jit.Config
	// OIDC optionally accepts JWTs of an OpenID Connect issuer.
	OIDC app.OIDCConfig
	// Audit is the key that signs the audit ledger.
	Audit audit.SigningConfig
	// Tokens caps the live tokens of one identity.
	Tokens app.TokensConfig
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

func run(lc fx.Lifecycle, nc *nats.Conn, js jetstream.JetStream, b *bus.Bus, so bus.StreamOptions, mp metric.MeterProvider, log *slog.Logger) error {
	var cfg Config
	if err := config.Load(&cfg); err != nil {
		return err
	}
	// An invalid policy stops the start, naming file, line and reason.
	policies, err := decide.Load(cfg.Policies)
	if err != nil {
		return err
	}
	windows, err := decide.LoadChangeWindowsConfig(cfg.Policies)
	if err != nil {
		return err
	}
	metrics, err := decide.NewMetrics(mp)
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
			signer, auditKeys, keyFile, keyCreated, err := cfg.Audit.Load()
			if err != nil {
				return err
			}
			if keyCreated {
				log.Info("audit signing key created", "file", keyFile, "key", signer.ID())
			}
			ledger := audit.NewLedger(js).WithSigner(signer)
			grants := decide.NewGrants(windows)
			grants.Notify(nc)
			svc, err := jit.New(ctx, js, so.Replicas, cfg.JIT, grants, b, ledger, teamsOf{dir}, log)
			if err != nil {
				return err
			}
			running = append(running, closer(svc.Close))
			svc.WithSubjects(app.NewReviewSubjects(dir, tokens, ledger))
			timerCtx, stopTimer := context.WithCancel(context.Background())
			timerDone := make(chan struct{})
			go func() { defer close(timerDone); svc.Run(timerCtx) }()
			running = append(running, closer(func() { stopTimer(); <-timerDone }))
			used, err := nc.Subscribe(decide.SubjectGrantsUsed, func(m *nats.Msg) {
				var u decide.GrantsUsed
				if json.Unmarshal(m.Data, &u) == nil {
					ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
					defer cancel()
					svc.MarkUsed(ctx, u.GrantIDs, u.At)
				}
			})
			if err != nil {
				return fmt.Errorf("subscribe %s: %w", decide.SubjectGrantsUsed, err)
			}
			running = append(running, closer(func() { _ = used.Unsubscribe() }))
			owned, stopOwned, err := teams.Start(ctx, b, so, log)
			if err != nil {
				return err
			}
			running = append(running, stopFunc(stopOwned))
			authenticate := app.NewAuthenticate(tokens, dir)
			if cfg.OIDC.Enabled() {
				o, err := app.NewOIDC(ctx, cfg.OIDC)
				if err != nil {
					return err
				}
				authenticate.WithOIDC(o)
			}
			authn, err := ports.ServeAuthn(nc, authenticate, log)
			if err != nil {
				return err
			}
			running = append(running, microStopper{authn})
			api, err := ports.ServeAPI(nc, ports.API{
				Identities: app.NewIdentities(dir, ledger).WithTeamGuard(teamGuard{owned, svc}), Tokens: app.NewTokens(tokens, dir, ledger).WithConfig(cfg.Tokens),
				Dir: dir, JS: js, Log: log, JIT: &ports.JIT{Svc: svc, Log: log}, AuditVerify: cfg.Audit.VerifyOptions(auditKeys),
			})
			if err != nil {
				return err
			}
			running = append(running, api)
			authz, err := ports.ServeAuthorize(nc, decide.New(policies), grants, ledger, metrics, log)
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

type closer func()

type stopFunc func() error

func (s stopFunc) Stop() error { return s() }

// teamGuard: a team's live resources (from events) and its access.
type teamGuard struct {
	*teams.Resources
	*jit.Service
}

func (c closer) Stop() error { c(); return nil }

// teamsOf says which teams exist, from the directory.
type teamsOf struct{ dir *adapters.KVDirectory }

func (t teamsOf) TeamExists(name string) bool {
	_, ok := t.dir.Team(name)
	return ok
}
