// Package gateway is the HTTP edge of Pave: it authenticates every /v1
// request through the access service and answers from the platform's
// registries and read models. It also receives signed Git and CI webhooks
// (/v1/webhooks/, authenticated by their signatures) and CloudEvents from
// other systems (POST /v1/events and pave.ingress.>).
package gateway

import (
	"context"
	"log/slog"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"go.opentelemetry.io/otel/metric"
	"go.uber.org/fx"

	"github.com/pave-platform/pave/pkg/authn"
	"github.com/pave-platform/pave/pkg/bus"
	"github.com/pave-platform/pave/pkg/config"
	"github.com/pave-platform/pave/pkg/dedup"
	"github.com/pave-platform/pave/pkg/httpfx"
	"github.com/pave-platform/pave/pkg/otelfx"
	"github.com/pave-platform/pave/pkg/platformfx"
	"github.com/pave-platform/pave/pkg/redisfx"
	"github.com/pave-platform/pave/pkg/schema"
	"github.com/pave-platform/pave/pkg/service"
	"github.com/pave-platform/pave/services/access/audit"
	"github.com/pave-platform/pave/services/access/decide"
	"github.com/pave-platform/pave/services/gateway/internal/ingress"
	"github.com/pave-platform/pave/services/gateway/internal/notify"
	"github.com/pave-platform/pave/services/gateway/internal/portal"
	"github.com/pave-platform/pave/services/gateway/internal/ports"
	"github.com/pave-platform/pave/services/gateway/internal/webhooks"
)

// Name of the service, its streams and its subjects.
const Name = "gateway"

// Config is the gateway's own configuration (webhooks and ingress).
type Config struct {
	// RepositoriesFile maps repositories to teams and templates (see
	// deploy/repositories.yaml); empty maps none, so every webhook
	// delivery answers 404.
	RepositoriesFile string `env:"PAVE_REPOSITORIES_FILE"`
	// DedupTTL is how long a webhook delivery id is remembered.
	DedupTTL time.Duration `env:"PAVE_WEBHOOK_DEDUP_TTL" envDefault:"168h"`
	// API holds the /v1 settings: rate limits, the OpenAPI check and
	// which event types service accounts may post.
	API ports.Config
	// Portal holds the web portal's session settings.
	Portal portal.Config
}

// Validate names the variable that is out of range.
func (c Config) Validate() error {
	if c.DedupTTL < 7*24*time.Hour {
		return config.Invalid("PAVE_WEBHOOK_DEDUP_TTL", "must be at least 168h: GitHub Enterprise redelivers up to 7 days later")
	}
	return nil
}

// DedupBucket is the KV bucket of webhook delivery ids (without Redis).
const DedupBucket = "GATEWAY_WEBHOOK_DELIVERIES"

// Module runs the gateway: its routes join the process's HTTP server.
var Module = fx.Module(Name,
	service.Lifecycle(Name),
	fx.Provide(loadConfig, loadRepositories, newDedup, newNotify),
	fx.Provide(fx.Annotate(newAPIRoute, fx.ResultTags(`group:"routes"`, ``))),
	fx.Provide(httpfx.AsRoute(newPortalRoute)),
	fx.Provide(httpfx.AsRoute(newWebhookRoute)),
	fx.Invoke(runConsumers),
)

func loadConfig() (Config, error) {
	var c Config
	return c, config.Load(&c)
}

func loadRepositories(c Config) (*webhooks.Repositories, error) {
	return webhooks.LoadRepositories(c.RepositoriesFile)
}

// newDedup is Redis when PAVE_REDIS_URL is set, a KV bucket otherwise.
func newDedup(c Config, rc redisfx.Client, js jetstream.JetStream, so bus.StreamOptions) (dedup.Store, error) {
	if rc.Redis != nil {
		return dedup.NewRedis(rc.Redis, "pave:webhook:delivery:", c.DedupTTL), nil
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	return dedup.NewKV(ctx, js, DedupBucket, c.DedupTTL, so.Replicas)
}

// newNotify assembles the outbound subscriptions and alerts (its
// consumers start with the gateway's runtime).
func newNotify(b *bus.Bus, so bus.StreamOptions, log *slog.Logger) (*notify.Service, error) {
	cfg, err := notify.LoadConfig()
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	return notify.New(ctx, cfg, b, so, log.With("service", Name, "component", "notify"))
}

func newAPIRoute(lc fx.Lifecycle, gc Config, so bus.StreamOptions, mp metric.MeterProvider, nc *nats.Conn, js jetstream.JetStream, reg *schema.Registry, rc redisfx.Client, fill *bus.FillMonitor, nt *notify.Service, log *slog.Logger) (httpfx.Route, portal.API, error) {
	client := authn.NewClient(nc, 2*time.Second)
	// Every /v1 route is decided in-process against the Cedar policies
	// (an invalid policy stops the start) and recorded in the audit ledger.
	var cfg decide.Config
	if err := config.Load(&cfg); err != nil {
		return httpfx.Route{}, portal.API{}, err
	}
	policies, err := decide.Load(cfg)
	if err != nil {
		return httpfx.Route{}, portal.API{}, err
	}
	windows, err := decide.LoadChangeWindowsConfig(cfg)
	if err != nil {
		return httpfx.Route{}, portal.API{}, err
	}
	// Active just-in-time grants count in decisions: a watch of the
	// access service's grant bucket feeds them (access helper).
	grants := decide.NewGrants(windows)
	watchCtx, stopWatch := context.WithCancel(context.Background())
	lc.Append(fx.StopHook(stopWatch))
	grants.Watch(watchCtx, js, log.With("service", Name))
	apiCfg := gc.API
	apiCfg.KVReplicas = so.Replicas
	dm, err := decide.NewMetrics(mp)
	if err != nil {
		return httpfx.Route{}, portal.API{}, err
	}
	// Decisions are signed and appended by the access service; permitted
	// reads are counted per principal and minute, not sent one by one.
	recorder := audit.NewClient(nc, 15*time.Second)
	reads := ports.NewReadCounter(recorder, ports.ReadFlushInterval, log.With("service", Name, "component", "audit-reads"))
	lc.Append(fx.StartStopHook(reads.Start, reads.Stop))
	az := ports.Authz{Decider: decide.New(policies), Recorder: recorder, Grants: grants, Metrics: dm, Reads: reads}
	api := ports.API(ports.Deps{Auth: client, Caller: ports.NATSCaller{NC: nc}, Types: reg, Authz: az,
		Log: log.With("service", Name), NC: nc, JS: js, Registry: reg, Redis: rc.Redis, Config: &apiCfg, Meters: mp, Capacity: fill, Notify: nt.Handler()})
	// Every API request starts (or continues) a trace at the edge.
	h := otelfx.HTTPHandler(Name, api)
	return httpfx.Route{Pattern: "/v1/", Handler: h}, portal.API{Handler: h}, nil
}

// newWebhookRoute serves /v1/webhooks/ without bearer authentication:
// each delivery is authenticated by its signature. The longer pattern
// wins over "/v1/" in the server's mux.
func newWebhookRoute(repos *webhooks.Repositories, seen dedup.Store, b *bus.Bus, mp metric.MeterProvider, log *slog.Logger) (httpfx.Route, error) {
	m, err := webhooks.NewMetrics(mp)
	if err != nil {
		return httpfx.Route{}, err
	}
	rc := webhooks.NewReceiver(repos, seen, b, log.With("service", Name, "component", "webhooks"), m)
	return httpfx.Route{Pattern: "/v1/webhooks/", Handler: otelfx.HTTPHandler(Name, rc.Handler())}, nil
}

type consumersParams struct {
	fx.In
	LC     fx.Lifecycle
	Bus    *bus.Bus
	NC     *nats.Conn
	Reg    *schema.Registry
	Repos  *webhooks.Repositories
	SO     bus.StreamOptions
	MW     platformfx.Middleware
	Notify *notify.Service
	Log    *slog.Logger
}

// runConsumers works stored webhook deliveries and ingress events, and
// turns the ingress router's dead letters into rejected events.
func runConsumers(p consumersParams) {
	log := p.Log.With("service", Name)
	rt := service.NewRuntime(p.Bus, p.MW, log)
	proc := webhooks.NewProcessor(p.Repos, ports.NATSCaller{NC: p.NC}, p.Bus, log.With("component", "webhooks"))
	rt.Handle(webhooks.ConsumerSpec(), proc.Handle)
	ingress.Consumers(rt.Router(), ingress.NewRouter(p.Bus, ingress.NewStamper(p.Bus.JetStream(), p.SO.Replicas)), ingress.NewRejecter(p.Reg, p.Bus))
	// Outbound subscriptions: the fan-out of every event stream and the
	// deliverer (notify).
	p.LC.Append(rt.Hook(func(ctx context.Context) error { return p.Notify.Register(ctx, rt) }))
}
