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
	"github.com/pave-platform/pave/pkg/natsfx"
	"github.com/pave-platform/pave/pkg/platformfx"
	"github.com/pave-platform/pave/pkg/policy"
	"github.com/pave-platform/pave/pkg/service"
	"github.com/pave-platform/pave/services/access/audit"
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
	Policies policy.Config
	// JIT are the approval rules of just-in-time access.
	JIT jit.Config
	// OIDC optionally accepts JWTs of an OpenID Connect issuer.
	OIDC app.OIDCConfig
	// Audit is the key that signs the audit ledger.
	Audit audit.SigningConfig
	// AuditArchive is where sealed segments go and how long AUDIT keeps
	// archived records.
	AuditArchive audit.ArchiveConfig
	// Tokens caps the live tokens of one identity.
	Tokens app.TokensConfig
}

// BootstrapAdmin is the identity of the bootstrap token: the first
// platform admin.
const BootstrapAdmin = "bootstrap-admin"

// Module runs the access service: its configuration is loaded once, the
// decisions' policies, the ledger and the grant index are provided, and
// build registers the stores, the JIT service and the endpoints on the
// service's runtime when it starts.
var Module = fx.Module(Name,
	platformfx.ServiceConn(natsfx.AccessUser),
	service.Lifecycle(Name),
	fx.Provide(fx.Private, loadConfig, newDecisions, newLedger, newGrantIndex, newRuntime),
	fx.Invoke(checkRetention),
	fx.Invoke(func(lc fx.Lifecycle, p parts) { lc.Append(p.RT.Hook(p.build)) }),
)

// checkRetention refuses event streams that forget a grant while it still
// counts: the gateway's grant index is replayed from EVT_ACCESS.
func checkRetention(cfg Config, so bus.StreamOptions) error {
	if so.EventRetention != 0 && so.EventRetention < cfg.JIT.MaxGrant {
		return config.Invalidf("PAVE_EVENT_RETENTION", "must be 0 or at least PAVE_ACCESS_MAX_GRANT (%s): gateways rebuild their grant index from the grant events", cfg.JIT.MaxGrant)
	}
	return nil
}

func loadConfig() (Config, error) {
	var c Config
	return c, config.Load(&c)
}

// decisions are the validated policies, the change windows and the
// decisions' metrics.
type decisions struct {
	policies *policy.Policies
	windows  *policy.ChangeWindows
	metrics  *policy.Metrics
}

// newDecisions loads the policies: an invalid one stops the start, naming
// file, line and reason.
func newDecisions(cfg Config, mp metric.MeterProvider) (decisions, error) {
	policies, err := policy.Load(cfg.Policies)
	if err != nil {
		return decisions{}, err
	}
	windows, err := policy.LoadChangeWindowsConfig(cfg.Policies)
	if err != nil {
		return decisions{}, err
	}
	metrics, err := policy.NewMetrics(mp)
	if err != nil {
		return decisions{}, err
	}
	return decisions{policies: policies, windows: windows, metrics: metrics}, nil
}

// ledger is the signed audit ledger and the keys that verify it.
type ledger struct {
	*audit.Ledger
	keys   audit.Keyring
	signer *audit.Signer
}

// newLedger loads (or at the first start creates) the signing key.
func newLedger(cfg Config, js jetstream.JetStream, log *slog.Logger) (ledger, error) {
	signer, keys, keyFile, keyCreated, err := cfg.Audit.Load()
	if err != nil {
		return ledger{}, err
	}
	if keyCreated {
		log.Info("audit signing key created", "service", Name, "file", keyFile, "key", signer.ID())
	}
	return ledger{Ledger: audit.NewLedger(js).WithSigner(signer), keys: keys, signer: signer}, nil
}

// newGrantIndex is the grants' index the authorize endpoint decides with,
// fed by the JIT service's store.
func newGrantIndex(d decisions, nc *nats.Conn) *policy.Grants {
	grants := policy.NewGrants(d.windows)
	grants.Notify(policy.PublishUsed(nc))
	return grants
}

// newRuntime is the service's runtime.
func newRuntime(b *bus.Bus, mw platformfx.Middleware, log *slog.Logger) *service.Runtime {
	return service.NewRuntime(b, mw, log.With("service", Name))
}

// parts are what build puts together on the runtime.
type parts struct {
	fx.In
	NC     *nats.Conn
	JS     jetstream.JetStream
	Bus    *bus.Bus
	SO     bus.StreamOptions
	Cfg    Config
	Dec    decisions
	Ledger ledger
	Grants *policy.Grants
	Log    *slog.Logger
	RT     *service.Runtime
}

func (p parts) build(ctx context.Context) error {
	log := p.Log.With("service", Name)
	tokens, err := adapters.NewKVTokens(ctx, p.JS, p.SO.Replicas)
	if err != nil {
		return err
	}
	dir, err := adapters.NewKVDirectory(ctx, p.JS, p.SO.Replicas)
	if err != nil {
		return err
	}
	p.RT.OnStop(func(context.Context) error { return dir.Stop() })
	if err := p.bootstrap(ctx, tokens, dir, log); err != nil {
		return err
	}
	ledger, grants := p.Ledger.Ledger, p.Grants
	if err := p.incidents(ctx, grants, log); err != nil {
		return err
	}
	svc, err := jit.New(ctx, adapters.JITTables(p.JS, p.SO.Replicas, log), p.Cfg.JIT, grants, p.Bus, ledger, teamsOf{dir}, log)
	if err != nil {
		return err
	}
	archive, err := p.Cfg.AuditArchive.Open(ctx, p.JS, p.SO.Replicas)
	if err != nil {
		return err
	}
	p.RT.Go(audit.NewCompactor(p.JS, audit.Stream, archive, p.Ledger.signer, p.Cfg.AuditArchive, log).Run)
	verify := append(p.Cfg.Audit.VerifyOptions(p.Ledger.keys), audit.Archived(archive))
	// System actions (TTL expiry, sweeper, preemption, webhooks) are
	// recorded from the events that report them.
	for _, peer := range []string{"lifecycle", "provisioning", "scheduler", "gateway"} {
		if err := bus.EnsureStreams(ctx, p.JS, bus.ServiceStreams(peer, p.SO)...); err != nil {
			return err
		}
	}
	system := audit.NewSystemActions(ledger)
	for _, spec := range system.Consumers() {
		p.RT.Handle(spec, system.Handle)
	}
	p.RT.OnStop(func(context.Context) error { svc.Close(); return nil })
	svc.WithSubjects(app.NewReviewSubjects(dir, tokens, ledger))
	p.RT.Go(svc.Run) // the grants' timer
	p.RT.Endpoint(func() (service.Stopper, error) { return p.grantsUsed(svc) })
	owned, stopOwned, err := teams.Start(ctx, p.Bus, p.SO, log)
	if err != nil {
		return err
	}
	p.RT.OnStop(func(context.Context) error { return stopOwned() })
	authenticate := app.NewAuthenticate(tokens, dir)
	if p.Cfg.OIDC.Enabled() {
		o, err := app.NewOIDC(ctx, p.Cfg.OIDC)
		if err != nil {
			return err
		}
		authenticate.WithOIDC(o)
	}
	p.RT.Endpoint(func() (service.Stopper, error) { return ports.ServeAuthn(p.NC, authenticate, log) })
	p.RT.Endpoint(func() (service.Stopper, error) {
		return ports.ServeAPI(p.NC, ports.API{
			Identities: app.NewIdentities(dir, ledger).WithTeamGuard(teamGuard{owned, svc}),
			Tokens:     app.NewTokens(tokens, dir, ledger).WithConfig(p.Cfg.Tokens),
			Dir:        dir, JS: p.JS, Log: log, JIT: &ports.JIT{Svc: svc, Log: log}, AuditVerify: verify,
		})
	})
	p.RT.Endpoint(func() (service.Stopper, error) {
		return ports.ServeAuthorize(p.NC, policy.New(p.Dec.policies), grants, ledger, p.Dec.metrics, log)
	})
	return nil
}

// bootstrap makes sure the first admin token and identity exist.
func (p parts) bootstrap(ctx context.Context, tokens *adapters.KVTokens, dir *adapters.KVDirectory, log *slog.Logger) error {
	generated, err := app.NewBootstrap(tokens).Ensure(ctx, p.Cfg.BootstrapToken, p.Cfg.BootstrapTokenFile)
	if err != nil {
		return err
	}
	if generated {
		log.Info("bootstrap admin token created", "file", p.Cfg.BootstrapTokenFile)
	}
	if _, ok := dir.User(BootstrapAdmin); ok {
		return nil
	}
	return dir.PutUser(ctx, domain.User{ID: BootstrapAdmin, Roles: []string{domain.RolePlatformAdmin}})
}

// grantsUsed hears which grants the gateway's decisions used.
func (p parts) grantsUsed(svc *jit.Service) (service.Stopper, error) {
	used, err := p.NC.Subscribe(policy.SubjectGrantsUsed, func(m *nats.Msg) {
		var u policy.GrantsUsed
		if json.Unmarshal(m.Data, &u) == nil {
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			svc.MarkUsed(ctx, u.GrantIDs, u.At)
		}
	})
	if err != nil {
		return nil, fmt.Errorf("subscribe %s: %w", policy.SubjectGrantsUsed, err)
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

// incidents folds incident events into access's open incidents and makes
// the decisions of grants read them.
func (p parts) incidents(ctx context.Context, grants *policy.Grants, log *slog.Logger) error {
	folder, err := incidents.Open(ctx, p.JS, p.SO.Replicas)
	if err != nil {
		return err
	}
	// The gateway may start later: its event stream is declared here too
	// (idempotent), like the other services' peers.
	if err := bus.EnsureStreams(ctx, p.JS, bus.ServiceStreams("gateway", p.SO)...); err != nil {
		return err
	}
	p.RT.Handle(incidents.ConsumerSpec(), folder.Handle)
	open := policy.NewIncidents()
	p.RT.Go(func(ctx context.Context) { folder.Watch(ctx, open, log) })
	grants.WithIncidents(open)
	return nil
}
