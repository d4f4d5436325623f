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

	"github.com/pave-platform/pave/pkg/audit"
	"github.com/pave-platform/pave/pkg/authn"
	"github.com/pave-platform/pave/pkg/bus"
	"github.com/pave-platform/pave/pkg/config"
	"github.com/pave-platform/pave/pkg/dedup"
	"github.com/pave-platform/pave/pkg/httpfx"
	"github.com/pave-platform/pave/pkg/natsfx"
	"github.com/pave-platform/pave/pkg/otelfx"
	"github.com/pave-platform/pave/pkg/platformfx"
	"github.com/pave-platform/pave/pkg/policy"
	"github.com/pave-platform/pave/pkg/redisfx"
	"github.com/pave-platform/pave/pkg/schema"
	"github.com/pave-platform/pave/pkg/service"
	"github.com/pave-platform/pave/services/gateway/internal/automate"
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
	// Policies are the Cedar policies and change windows every /v1
	// request is decided by (PAVE_POLICIES_DIR, as the access service's).
	Policies policy.Config
	// Automate holds the automations file and the incident hooks' secrets.
	Automate automate.Config
	// Notify holds the outbound subscriptions' delivery settings.
	Notify notify.Config
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
	platformfx.ServiceConn(natsfx.GatewayUser),
	service.Lifecycle(Name),
	fx.Provide(loadConfig, loadRepositories, newDedup, newNotify),
	fx.Provide(fx.Private, newGrantIndex),
	fx.Provide(ports.NewActing, openAutomate),
	fx.Provide(fx.Annotate(newAPIRoute, fx.ResultTags(`group:"routes"`, ``))),
	fx.Provide(httpfx.AsRoute(newPortalRoute)),
	fx.Provide(httpfx.AsRoute(newWebhookRoute)),
	fx.Provide(httpfx.AsRoute(newIncidentRoute)),
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

// newGrantIndex is the decisions' index of just-in-time grants, fed by
// access's grant events, and of open incidents, fed by the incident
// events the gateway itself publishes (runConsumers).
func newGrantIndex(gc Config, nc *nats.Conn) (*policy.Grants, *policy.Incidents, error) {
	windows, err := policy.LoadChangeWindowsConfig(gc.Policies)
	if err != nil {
		return nil, nil, err
	}
	incidents := policy.NewIncidents()
	grants := policy.NewGrants(windows).WithIncidents(incidents)
	grants.Notify(policy.PublishUsed(nc))
	return grants, incidents, nil
}

// newNotify assembles the outbound subscriptions and alerts (its
// consumers start with the gateway's runtime).
func newNotify(c Config, b *bus.Bus, so bus.StreamOptions, log *slog.Logger) (*notify.Service, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	return notify.New(ctx, c.Notify, b, so, log.With("service", Name, "component", "notify"))
}

// openAutomate opens the custom event types, automations and runs.
func openAutomate(c Config, js jetstream.JetStream, so bus.StreamOptions, reg *schema.Registry) (automate.Stores, automate.Registry, error) {
	st, err := automate.Open(context.Background(), js, so.Replicas, c.Automate)
	return st, automate.Registry{Base: reg, Custom: st.Types}, err
}

func newAPIRoute(lc fx.Lifecycle, gc Config, grants *policy.Grants, so bus.StreamOptions, mp metric.MeterProvider, nc *nats.Conn, js jetstream.JetStream, reg *schema.Registry, rc redisfx.Client, fill *bus.FillMonitor, nt *notify.Service, log *slog.Logger, acting *ports.Acting, events automate.Registry) (httpfx.Route, portal.API, error) {
	client := authn.NewClient(nc, 2*time.Second)
	// Every /v1 route is decided in-process against the Cedar policies
	// (an invalid policy stops the start) and recorded in the audit ledger.
	policies, err := policy.Load(gc.Policies)
	if err != nil {
		return httpfx.Route{}, portal.API{}, err
	}
	apiCfg := gc.API
	apiCfg.KVReplicas = so.Replicas
	dm, err := policy.NewMetrics(mp)
	if err != nil {
		return httpfx.Route{}, portal.API{}, err
	}
	// Decisions are signed and appended by the access service; permitted
	// reads are counted per principal and minute, not sent one by one.
	recorder := audit.NewClient(nc, 15*time.Second)
	reads := ports.NewReadCounter(recorder, ports.ReadFlushInterval, log.With("service", Name, "component", "audit-reads"))
	lc.Append(fx.StartStopHook(reads.Start, reads.Stop))
	az := ports.Authz{Decider: policy.New(policies), Recorder: recorder, Grants: grants, Metrics: dm, Reads: reads}
	api := ports.API(ports.Deps{Auth: client, Caller: ports.NATSCaller{NC: nc}, Types: events, Authz: az, Events: events, Acting: acting,
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

// newIncidentRoute serves the incident tools' webhooks, authenticated by
// their signatures (PagerDuty) or tokens (Opsgenie).
func newIncidentRoute(c Config, b *bus.Bus, log *slog.Logger) httpfx.Route {
	h := automate.NewIncidentHooks(c.Automate.Incidents, b, log.With("service", Name, "component", "incidents"))
	return httpfx.Route{Pattern: automate.IncidentHooksPattern, Handler: otelfx.HTTPHandler(Name, h)}
}

type consumersParams struct {
	fx.In
	LC        fx.Lifecycle
	Bus       *bus.Bus
	NC        *nats.Conn
	Reg       *schema.Registry
	Repos     *webhooks.Repositories
	Grants    *policy.Grants
	Incidents *policy.Incidents
	Notify    *notify.Service
	SO        bus.StreamOptions
	MW        platformfx.Middleware
	Log       *slog.Logger
	// Automations: their stores, the registry with custom types, the API chain.
	Automate automate.Stores
	Events   automate.Registry
	Acting   *ports.Acting
}

// runConsumers works stored webhook deliveries and ingress events, turns
// the ingress router's dead letters into rejected events, feeds the grant
// index from access's grant events and the incident index from incident
// events, and runs automations and the DORA fold.
func runConsumers(p consumersParams) error {
	log := p.Log.With("service", Name)
	rt := service.NewRuntime(p.Bus, p.MW, log)
	proc := webhooks.NewProcessor(p.Repos, ports.NATSCaller{NC: p.NC}, p.Bus, log.With("component", "webhooks"))
	rt.Handle(webhooks.ConsumerSpec(), proc.Handle)
	rt.Handle(ports.GrantIndexSpec(), ports.GrantIndex(p.Grants))
	rt.Handle(ports.IncidentIndexSpec(), ports.IncidentIndex(p.Incidents))
	// INGRESS holds the teams' custom types too: its consumers decode
	// with a bus that knows them.
	ib, err := bus.New(p.NC, p.Events, schema.SubjectFor, bus.WithLogger(log))
	if err != nil {
		return err
	}
	irt := service.NewRuntime(ib, p.MW, log)
	stamp := ingress.NewStamper(p.Bus.JetStream(), p.SO.Replicas)
	ingress.Consumers(irt.Router(), ingress.NewRouter(p.Bus, stamp), ingress.NewRejecter(p.Events, p.Bus))
	runner := automate.NewRunner(p.Automate.Rules, p.Automate.Runs, p.Acting, ports.NATSCaller{NC: p.NC}, stamp, log.With("component", "automations"))
	irt.Handle(automate.ConsumerSpec(), runner.Handle)
	for _, spec := range automate.DoraConsumers() {
		irt.Handle(spec, p.Automate.Dora.Fold)
	}
	irt.ServeRPC(p.NC, "pave-gateway-automate", automate.API{Types: p.Automate.Types, Rules: p.Automate.Rules, Runs: p.Automate.Runs, Dora: p.Automate.Dora}.Endpoints()...)
	// Access's event stream is declared here too, so that the gateway can
	// start first (its grant index follows the stream); DORA reads
	// lifecycle's promotions, whichever service starts first. Outbound
	// subscriptions: the fan-out of every event stream and the deliverer
	// (notify).
	p.LC.Append(rt.Hook(func(ctx context.Context) error {
		if err := bus.EnsureStreams(ctx, p.Bus.JetStream(), append(bus.ServiceStreams("access", p.SO), bus.ServiceStreams("gateway", p.SO)...)...); err != nil {
			return err
		}
		return p.Notify.Register(ctx, rt)
	}))
	p.LC.Append(irt.Hook(func(ctx context.Context) error {
		return bus.EnsureStreams(ctx, p.Bus.JetStream(), bus.ServiceStreams("lifecycle", p.SO)...)
	}))
	return nil
}
