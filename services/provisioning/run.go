package provisioning

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"net/url"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"go.uber.org/fx"

	"github.com/pave-platform/pave/pkg/bus"
	"github.com/pave-platform/pave/pkg/config"
	"github.com/pave-platform/pave/pkg/natsfx"
	"github.com/pave-platform/pave/pkg/platformfx"
	"github.com/pave-platform/pave/pkg/service"
	"github.com/pave-platform/pave/services/provisioning/internal/adapters"
	"github.com/pave-platform/pave/services/provisioning/internal/app"
	"github.com/pave-platform/pave/services/provisioning/internal/ports"
)

type params struct {
	fx.In
	Lifecycle  fx.Lifecycle
	Conn       *nats.Conn
	Bus        *bus.Bus
	JetStream  jetstream.JetStream
	Streams    bus.StreamOptions
	Middleware platformfx.Middleware
	Log        *slog.Logger
	// Tenants is the embedded server's account for the environments'
	// streams (pave dev); nil when NATS is configured.
	Tenants *natsfx.Tenants `optional:"true"`
	// Embedded is pave dev's in-process NATS server, if there is one.
	Embedded *natsfx.Embedded `optional:"true"`
}

// runtime builds one running instance onto its service runtime, which
// stops what it started.
type runtime struct {
	params
	cfg Config
	log *slog.Logger
	rt  *service.Runtime
}

func run(p params) error {
	var cfg Config
	if err := config.Load(&cfg); err != nil {
		return err
	}
	log := p.Log.With("service", Name)
	rt := &runtime{params: p, cfg: cfg, log: log, rt: service.NewRuntime(p.Bus, p.Middleware, log)}
	p.Lifecycle.Append(rt.rt.Hook(rt.start))
	return nil
}

func (rt *runtime) start(ctx context.Context) error {
	if err := rt.build(ctx); err != nil {
		return fmt.Errorf("start %s: %w", Name, err)
	}
	return nil
}

func (rt *runtime) build(ctx context.Context) error {
	key, file, created, err := rt.cfg.MasterKey()
	if err != nil {
		return fmt.Errorf("master key: %w", err)
	}
	if created {
		rt.log.Warn("generated a master key for credentials; back it up, and give every replica the same one", "file", file)
	}
	sealer, err := adapters.NewEnvelope(key)
	if err != nil {
		return err
	}
	ledger, err := adapters.NewKVLedger(ctx, rt.JetStream, rt.Streams.Replicas)
	if err != nil {
		return err
	}
	drivers, err := rt.drivers()
	if err != nil {
		return err
	}
	rt.log.Info("drivers", "configured", drivers.Names())
	receipts, err := adapters.NewKVReceipts(ctx, rt.JetStream, rt.Streams.Replicas, rt.cfg.ReceiptTTL)
	if err != nil {
		return err
	}
	deps := app.Deps{Ledger: ledger, Drivers: drivers, Sealer: sealer, Publisher: rt.Bus,
		MaxDeliver: ports.MaxDeliver, Lease: 2 * rt.cfg.AckWait, Log: rt.log, Receipts: receipts}
	grants, err := rt.newGrants(ctx, deps, ledger)
	if err != nil {
		return err
	}
	cmds := ports.Commands{Provision: app.NewProvision(deps), Update: app.NewUpdate(deps),
		Sanitize: app.NewSanitize(deps), Deprovision: app.NewDeprovision(deps), Credentials: grants}
	ports.Consumers(rt.rt.Router(), cmds, grants, rt.cfg.AckWait)
	drift := &app.Drift{Grants: grants, Publisher: rt.Bus, Remediate: rt.cfg.DriftRemediate}
	rt.rt.Endpoint(func() (service.Stopper, error) {
		return ports.ServeCredentials(rt.Conn, app.Credentials{Ledger: ledger, Sealer: sealer}, rt.log,
			append(ports.GrantEndpoints(grants, drift, rt.log), ports.ReceiptEndpoint(receipts, rt.log))...)
	})
	if rt.cfg.DriftInterval > 0 {
		rt.rt.Every(ports.DriftSweeper(drift, rt.cfg.DriftInterval, rt.log))
	}
	if rt.cfg.SweepInterval > 0 {
		sweep := &app.Sweep{Ledger: ledger, Drivers: drivers, Publisher: rt.Bus, Remove: rt.cfg.SweepRemove}
		rt.rt.Every(ports.Sweeper(sweep, rt.cfg.SweepInterval, rt.log))
	}
	return nil
}

// newGrants builds the grant-login handlers over their store. Access's
// event stream is declared here too, so that provisioning can start first.
func (rt *runtime) newGrants(ctx context.Context, deps app.Deps, ledger *adapters.KVLedger) (*app.Grants, error) {
	if err := bus.EnsureStreams(ctx, rt.JetStream, bus.ServiceStreams("access", rt.Streams)...); err != nil {
		return nil, err
	}
	store, err := adapters.NewKVGrants(ctx, rt.JetStream, rt.Streams.Replicas)
	if err != nil {
		return nil, err
	}
	return &app.Grants{Store: store, Ledger: ledger, Drivers: deps.Drivers, Sealer: deps.Sealer,
		Publisher: rt.Bus, MaxDeliver: ports.MaxDeliver, Lease: deps.Lease, Log: rt.log}, nil
}

// drivers builds every configured driver; none connects yet.
func (rt *runtime) drivers() (*app.Drivers, error) {
	ds := app.NewDrivers()
	for name, setting := range driverSettings {
		ds.Missing(name, setting)
	}
	c := rt.cfg
	if c.PostgresURL != "" {
		d, err := adapters.NewPostgres(c.PostgresURL)
		if err != nil {
			return nil, err
		}
		ds.Add("postgres", d)
	}
	if c.RedisURL != "" {
		d, err := adapters.NewRedis(c.RedisURL)
		if err != nil {
			return nil, err
		}
		rt.rt.OnStop(func(context.Context) error { return d.Close() })
		ds.Add("redis", d)
	}
	js, natsURL, err := rt.natsTarget()
	if err != nil {
		return nil, err
	}
	ds.Add("nats", adapters.NewNATS(js, natsURL))
	if c.HTTPURL != "" {
		d, err := adapters.NewHTTP(c.HTTPURL, c.HTTPToken, c.HTTPTimeout)
		if err != nil {
			return nil, err
		}
		ds.Add("http", d)
	}
	if c.ExecCommand != "" {
		d, err := adapters.NewExec(c.ExecCommand, c.ExecTimeout)
		if err != nil {
			return nil, err
		}
		ds.Add("exec", d)
	}
	return ds, nil
}

// natsTarget is a connection of its own to PAVE_PROVISIONING_NATS_URL
// that keeps trying when the server is down; without one, the embedded
// server's tenants' account (never the platform's: a tenant must not
// reach pave.> or the platform's streams), or else the platform's NATS.
func (rt *runtime) natsTarget() (jetstream.JetStream, string, error) {
	if rt.cfg.NATSURL == "" {
		embedded := rt.Embedded != nil && rt.Embedded.Server != nil
		var listen net.Addr
		if embedded {
			listen = rt.Embedded.Addr()
		}
		url := adapters.ClientURL(rt.Conn.ConnectedUrlRedacted(), embedded, listen)
		if rt.Tenants != nil {
			return rt.Tenants.JetStream, url, nil
		}
		return rt.JetStream, url, nil
	}
	nc, err := nats.Connect(rt.cfg.NATSURL, nats.Name("pave-provisioning-driver"),
		nats.RetryOnFailedConnect(true), nats.MaxReconnects(-1))
	if err != nil {
		return nil, "", fmt.Errorf("connect to %s: %w", "PAVE_PROVISIONING_NATS_URL", err)
	}
	rt.rt.OnStop(func(context.Context) error { nc.Close(); return nil })
	js, err := jetstream.New(nc)
	if err != nil {
		nc.Close()
		return nil, "", err
	}
	return js, withoutUserinfo(rt.cfg.NATSURL), nil
}

func withoutUserinfo(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return ""
	}
	u.User = nil
	return u.String()
}
