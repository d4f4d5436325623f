// Package access is the access service: identities, tokens (and optional
// OIDC JWTs), decisions, the audit ledger, and just-in-time access:
// requests and approvals, grants with their timer, break-glass and access
// reviews (internal/jit). Grants become real credentials elsewhere, from
// the grant events.
package access

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"go.opentelemetry.io/otel/metric"
	"go.uber.org/fx"

	"github.com/pave-platform/pave/pkg/bus"
	"github.com/pave-platform/pave/pkg/config"
	"github.com/pave-platform/pave/pkg/platformfx"
	"github.com/pave-platform/pave/pkg/service"
	"github.com/pave-platform/pave/services/access/audit"
	"github.com/pave-platform/pave/services/access/decide"
	"github.com/pave-platform/pave/services/access/internal/adapters"
	"github.com/pave-platform/pave/services/access/internal/app"
	"github.com/pave-platform/pave/services/access/internal/domain"
	"github.com/pave-platform/pave/services/access/internal/incidents"
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

func run(lc fx.Lifecycle, nc *nats.Conn, js jetstream.JetStream, b *bus.Bus, so bus.StreamOptions, mw platformfx.Middleware, mp metric.MeterProvider, log *slog.Logger) error {
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
	p := parts{nc: nc, js: js, bus: b, so: so, cfg: cfg, policies: policies, windows: windows, metrics: metrics,
		log: log, rt: service.NewRuntime(b, mw, log)}
	lc.Append(p.rt.Hook(p.build))
	return nil
}

// parts builds the service onto its runtime.
type parts struct {
	nc       *nats.Conn
	js       jetstream.JetStream
	bus      *bus.Bus
	so       bus.StreamOptions
	cfg      Config
	policies *decide.Policies
	windows  *decide.ChangeWindows
	metrics  *decide.Metrics
	log      *slog.Logger
	rt       *service.Runtime
}

func (p parts) build(ctx context.Context) error {
	tokens, err := adapters.NewKVTokens(ctx, p.js, p.so.Replicas)
	if err != nil {
		return err
	}
	dir, err := adapters.NewKVDirectory(ctx, p.js, p.so.Replicas)
	if err != nil {
		return err
	}
	p.rt.OnStop(func(context.Context) error { return dir.Stop() })
	if err := p.bootstrap(ctx, tokens, dir); err != nil {
		return err
	}
	signer, auditKeys, keyFile, keyCreated, err := p.cfg.Audit.Load()
	if err != nil {
		return err
	}
	if keyCreated {
		p.log.Info("audit signing key created", "file", keyFile, "key", signer.ID())
	}
	ledger := audit.NewLedger(p.js).WithSigner(signer)
	grants := decide.NewGrants(p.windows)
	grants.Notify(p.nc)
	if err := p.incidents(ctx, grants); err != nil {
		return err
	}
	svc, err := jit.New(ctx, p.js, p.so.Replicas, p.cfg.JIT, grants, p.bus, ledger, teamsOf{dir}, p.log)
	if err != nil {
		return err
	}
	p.rt.OnStop(func(context.Context) error { svc.Close(); return nil })
	svc.WithSubjects(app.NewReviewSubjects(dir, tokens, ledger))
	p.rt.Go(svc.Run) // the grants' timer
	p.rt.Endpoint(func() (service.Stopper, error) { return p.grantsUsed(svc) })
	owned, stopOwned, err := teams.Start(ctx, p.bus, p.so, p.log)
	if err != nil {
		return err
	}
	p.rt.OnStop(func(context.Context) error { return stopOwned() })
	authenticate := app.NewAuthenticate(tokens, dir)
	if p.cfg.OIDC.Enabled() {
		o, err := app.NewOIDC(ctx, p.cfg.OIDC)
		if err != nil {
			return err
		}
		authenticate.WithOIDC(o)
	}
	p.rt.Endpoint(func() (service.Stopper, error) { return ports.ServeAuthn(p.nc, authenticate, p.log) })
	p.rt.Endpoint(func() (service.Stopper, error) {
		return ports.ServeAPI(p.nc, ports.API{
			Identities: app.NewIdentities(dir, ledger).WithTeamGuard(teamGuard{owned, svc}),
			Tokens:     app.NewTokens(tokens, dir, ledger).WithConfig(p.cfg.Tokens),
			Dir:        dir, JS: p.js, Log: p.log, JIT: &ports.JIT{Svc: svc, Log: p.log}, AuditVerify: p.cfg.Audit.VerifyOptions(auditKeys),
		})
	})
	p.rt.Endpoint(func() (service.Stopper, error) {
		return ports.ServeAuthorize(p.nc, decide.New(p.policies), grants, ledger, p.metrics, p.log)
	})
	return nil
}

// bootstrap makes sure the first admin token and identity exist.
func (p parts) bootstrap(ctx context.Context, tokens *adapters.KVTokens, dir *adapters.KVDirectory) error {
	generated, err := app.NewBootstrap(tokens).Ensure(ctx, p.cfg.BootstrapToken, p.cfg.BootstrapTokenFile)
	if err != nil {
		return err
	}
	if generated {
		p.log.Info("bootstrap admin token created", "file", p.cfg.BootstrapTokenFile)
	}
	if _, ok := dir.User(BootstrapAdmin); ok {
		return nil
	}
	return dir.PutUser(ctx, domain.User{ID: BootstrapAdmin, Roles: []string{domain.RolePlatformAdmin}})
}

// grantsUsed hears which grants the gateway's decisions used.
func (p parts) grantsUsed(svc *jit.Service) (service.Stopper, error) {
	used, err := p.nc.Subscribe(decide.SubjectGrantsUsed, func(m *nats.Msg) {
		var u decide.GrantsUsed
		if json.Unmarshal(m.Data, &u) == nil {
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			svc.MarkUsed(ctx, u.GrantIDs, u.At)
		}
	})
	if err != nil {
		return nil, fmt.Errorf("subscribe %s: %w", decide.SubjectGrantsUsed, err)
	}
	return unsubscriber{used}, nil
}

type unsubscriber struct{ *nats.Subscription }

func (u unsubscriber) Stop() error { return u.Unsubscribe() }

// teamsOf says which teams exist, from the directory.
type teamsOf struct{ dir *adapters.KVDirectory }

func (t teamsOf) TeamExists(name string) bool {
	_, ok := t.dir.Team(name)
	return ok
}

// teamGuard: a team's live resources (from events) and its access.
type teamGuard struct {
	*teams.Resources
	*jit.Service
}

// incidents folds incident events into the open incidents and makes the
// decisions of grants read them.
func (p parts) incidents(ctx context.Context, grants *decide.Grants) error {
	folder, err := incidents.Open(ctx, p.js, p.so.Replicas)
	if err != nil {
		return err
	}
	// The gateway may start later: its event stream is declared here too
	// (idempotent), like the other services' peers.
	if err := bus.EnsureStreams(ctx, p.js, bus.ServiceStreams("gateway", p.so)...); err != nil {
		return err
	}
	p.rt.Handle(incidents.ConsumerSpec(), folder.Handle)
	open := decide.NewIncidents()
	watchCtx, stop := context.WithCancel(context.Background())
	p.rt.OnStop(func(context.Context) error { stop(); return nil })
	open.Watch(watchCtx, p.js, p.log)
	grants.WithIncidents(open)
	return nil
}
