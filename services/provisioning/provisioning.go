// Package provisioning is the provisioning service: the resource ledger
// and the drivers that create, update, sanitize and delete real resources.
//
//	pave.cmd.provisioning.{provision,update,sanitize,deprovision}  (CMD_PROVISIONING, durable "provisioning")
//	  └─ app handler ─ ledger (KV PROVISIONING_LEDGER, CAS) ─ driver (postgres|redis|nats|http|exec)
//	       └─ one result: pave.evt.provisioning.resource.{provisioned,updated,sanitized,deprovisioned,failed}
//	pave.provisioning.credentials (request/reply) ─ sealed login from the ledger
//	sweeper (every PAVE_PROVISIONING_SWEEP_INTERVAL) ─ inventories vs ledger ─ resource.orphaned
//	tombstone sweep (hourly) ─ tombstones older than PAVE_PROVISIONING_TOMBSTONE_RETENTION leave the ledger
//	pave.evt.access.grant.{activated,revoked} (EVT_ACCESS, durable "provisioning-grants")
//	pave.cmd.provisioning.credentials-{sync,revoke} ─ grant store (KV PROVISIONING_GRANTS, CAS)
//	  └─ grant logins (paveg_<hash>: a PostgreSQL role, a Redis ACL user) ─ credentials.{synced,revoked,failed}
//	pave.provisioning.grant-credentials (request/reply) ─ the caller's own sealed grant logins
//	drift sweep (every PAVE_PROVISIONING_DRIFT_INTERVAL, or pave.provisioning.credential-drift.sweep)
//	  ─ logins on targets vs grants ─ credential.drifted
//
// Names of real objects derive from the resource id (pave_<id>), so they
// are recorded in the ledger before a driver creates anything.
package provisioning

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"path/filepath"
	"time"

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

// Name of the service, its streams and its subjects.
const Name = "provisioning"

// LedgerBucket is the JetStream KV bucket the service owns.
const LedgerBucket = adapters.LedgerBucket

// SubjectCredentials is answered with a resource's login: an rpc.Request
// whose body (or path values) is a CredentialsRequest, answered with an
// rpc.Reply whose body is a CredentialsReply, or 404.
const SubjectCredentials = ports.SubjectCredentials

// Wire types of SubjectCredentials.
type (
	CredentialsRequest = ports.CredentialsRequest
	CredentialsReply   = ports.CredentialsReply
	// GrantLoginReply is one item of rpc.GrantCredentials' answer.
	GrantLoginReply = ports.GrantLoginReply
)

// Module runs the provisioning service: its configuration is loaded once,
// the sealer and the drivers are provided, and build registers the stores,
// the handlers and the endpoints on the service's runtime when it starts.
var Module = fx.Module(Name,
	platformfx.ServiceConn(natsfx.ProvisioningUser),
	service.Lifecycle(Name),
	fx.Provide(fx.Private, loadConfig, newRuntime, newSealer, newDrivers),
	fx.Invoke(func(lc fx.Lifecycle, p parts) { lc.Append(p.RT.Hook(p.start)) }),
)

func loadConfig() (Config, error) {
	var c Config
	return c, config.Load(&c)
}

func newRuntime(b *bus.Bus, mw platformfx.Middleware, log *slog.Logger) *service.Runtime {
	return service.NewRuntime(b, mw, log.With("service", Name))
}

// newSealer seals credentials with the master key (made at the first
// start when there is none).
func newSealer(cfg Config, log *slog.Logger) (*adapters.Envelope, error) {
	key, file, created, err := cfg.MasterKey()
	if err != nil {
		return nil, fmt.Errorf("master key: %w", err)
	}
	if created {
		log.Warn("generated a master key for credentials; back it up, and give every replica the same one",
			"service", Name, "file", file)
	}
	return adapters.NewEnvelope(key)
}

type platformIn struct {
	fx.In
	Conn      *nats.Conn
	JetStream jetstream.JetStream
	// Tenants is the embedded server's account for the environments'
	// streams (pave dev); nil when NATS is configured.
	Tenants *natsfx.Tenants `optional:"true"`
	// Embedded is pave dev's in-process NATS server, if there is one.
	Embedded *natsfx.Embedded `optional:"true"`
}

// newDrivers builds every configured driver; none connects yet.
func newDrivers(cfg Config, in platformIn, rt *service.Runtime) (*app.Drivers, error) {
	p := adapters.Platform{Conn: in.Conn, JetStream: in.JetStream}
	if in.Tenants != nil {
		p.Tenants = in.Tenants.JetStream
		if in.Tenants.Logins != nil {
			p.TenantLogins = in.Tenants.Logins
		}
	}
	if in.Embedded != nil && in.Embedded.Server != nil {
		p.Embedded, p.Listen = true, in.Embedded.Addr()
	}
	return adapters.NewDrivers(adapters.Targets{PostgresURL: cfg.PostgresURL, RedisURL: cfg.RedisURL, NATSURL: cfg.NATSURL,
		HTTPURL: cfg.HTTPURL, HTTPToken: cfg.HTTPToken, HTTPTimeout: cfg.HTTPTimeout,
		ExecCommand: cfg.ExecCommand, ExecTimeout: cfg.ExecTimeout}, p, rt.OnStop)
}

// parts are what build puts together on the runtime.
type parts struct {
	fx.In
	Conn      *nats.Conn
	Bus       *bus.Bus
	JetStream jetstream.JetStream
	Streams   bus.StreamOptions
	Cfg       Config
	Sealer    *adapters.Envelope
	Drivers   *app.Drivers
	Log       *slog.Logger
	RT        *service.Runtime
}

func (p parts) start(ctx context.Context) error {
	if err := p.build(ctx, p.Log.With("service", Name)); err != nil {
		return fmt.Errorf("start %s: %w", Name, err)
	}
	return nil
}

func (p parts) build(ctx context.Context, log *slog.Logger) error {
	ledger, err := adapters.NewKVLedger(ctx, p.JetStream, p.Streams.Replicas)
	if err != nil {
		return err
	}
	log.Info("drivers", "configured", p.Drivers.Names())
	gone, err := adapters.NewKVServers(ctx, p.JetStream, p.Streams.Replicas)
	if err != nil {
		return err
	}
	receipts, err := adapters.NewKVReceipts(ctx, p.JetStream, p.Streams.Replicas, p.Cfg.ReceiptTTL)
	if err != nil {
		return err
	}
	deps := app.Deps{Ledger: ledger, Drivers: p.Drivers, Sealer: p.Sealer, Publisher: p.Bus, Gone: gone,
		MaxDeliver: ports.MaxDeliver, Lease: 2 * p.Cfg.AckWait, Log: log, Receipts: receipts,
		TombstoneRetention: p.Cfg.TombstoneRetention}
	grants, grantStore, err := p.newGrants(ctx, deps, ledger)
	if err != nil {
		return err
	}
	cmds := ports.Commands{Provision: app.NewProvision(deps), Update: app.NewUpdate(deps),
		Sanitize: app.NewSanitize(deps), Deprovision: app.NewDeprovision(deps), Credentials: grants}
	ports.Consumers(p.RT.Router(), cmds, grants, p.Cfg.AckWait)
	drift := &app.Drift{Grants: grants, Publisher: p.Bus, Remediate: p.Cfg.DriftRemediate}
	p.RT.Endpoint(func() (service.Stopper, error) {
		servers := &app.Servers{Store: gone, Drivers: p.Drivers}
		return ports.ServeCredentials(p.Conn, app.Credentials{Ledger: ledger, Sealer: p.Sealer}, log,
			append(append(ports.GrantEndpoints(grants, drift, log), ports.ServerEndpoints(servers, log)...),
				ports.ReceiptEndpoint(receipts, log))...)
	})
	if p.Cfg.DriftInterval > 0 {
		p.RT.Every(ports.DriftSweeper(drift, p.Cfg.DriftInterval, log))
	}
	if p.Cfg.TombstoneRetention > 0 {
		p.RT.Every(ports.TombstoneSweeper(&app.Tombstones{Ledger: ledger, Grants: grantStore,
			Retention: p.Cfg.TombstoneRetention}, tombstoneSweepEvery, log))
	}
	if p.Cfg.SweepInterval > 0 {
		sweep := &app.Sweep{Ledger: ledger, Drivers: p.Drivers, Publisher: p.Bus, Remove: p.Cfg.SweepRemove}
		p.RT.Every(ports.Sweeper(sweep, p.Cfg.SweepInterval, log))
	}
	return nil
}

// newGrants builds the grant-login handlers over their store. Access's
// event stream is declared here too, so that provisioning can start first.
func (p parts) newGrants(ctx context.Context, deps app.Deps, ledger *adapters.KVLedger) (*app.Grants, *adapters.KVGrants, error) {
	if err := bus.EnsureStreams(ctx, p.JetStream, bus.ServiceStreams("access", p.Streams)...); err != nil {
		return nil, nil, err
	}
	store, err := adapters.NewKVGrants(ctx, p.JetStream, p.Streams.Replicas)
	if err != nil {
		return nil, nil, err
	}
	return &app.Grants{Store: store, Ledger: ledger, Drivers: deps.Drivers, Sealer: deps.Sealer,
		Publisher: p.Bus, Gone: deps.Gone, MaxDeliver: ports.MaxDeliver, Lease: deps.Lease, Log: deps.Log}, store, nil
}

// Config is the provisioning service's configuration. A driver whose
// target is empty is not configured: its commands fail permanently with
// the variable to set, and the service still starts.
type Config struct {
	// PostgresURL is an admin (superuser or CREATEROLE+CREATEDB) URL of the
	// PostgreSQL server that gets a database and a role per resource.
	PostgresURL string `env:"PAVE_PROVISIONING_POSTGRES_URL"`
	// RedisURL is an admin URL (database 0) of the Redis server that gets
	// an ACL user per resource.
	RedisURL string `env:"PAVE_PROVISIONING_REDIS_URL"`
	// NATSURL is the NATS server that gets a stream per resource; empty
	// means the platform's own connection.
	NATSURL string `env:"PAVE_PROVISIONING_NATS_URL"`
	// HTTPURL is the base URL of an external provisioner.
	HTTPURL     string        `env:"PAVE_PROVISIONING_HTTP_URL"`
	HTTPToken   string        `env:"PAVE_PROVISIONING_HTTP_TOKEN"`
	HTTPTimeout time.Duration `env:"PAVE_PROVISIONING_HTTP_TIMEOUT" envDefault:"30s"`
	// ExecCommand is run per operation, split on white space (no shell).
	ExecCommand string        `env:"PAVE_PROVISIONING_EXEC_COMMAND"`
	ExecTimeout time.Duration `env:"PAVE_PROVISIONING_EXEC_TIMEOUT" envDefault:"60s"`
	// Key is the 32-byte master key, base64, that seals credentials.
	Key string `env:"PAVE_PROVISIONING_KEY"`
	// KeyFile holds the master key; created with a random key when it
	// does not exist. Default, when Key is empty too: PAVE_DATA_DIR/provisioning.key.
	KeyFile string `env:"PAVE_PROVISIONING_KEY_FILE"`
	DataDir string `env:"PAVE_DATA_DIR" envDefault:".pave"`
	// SweepInterval is how often the orphan sweep runs; 0 turns it off.
	SweepInterval time.Duration `env:"PAVE_PROVISIONING_SWEEP_INTERVAL" envDefault:"5m"`
	// AckWait bounds one handling of a command, driver calls included; a
	// command whose handler died is redelivered after it, and a claim on a
	// resource lapses after twice it.
	AckWait time.Duration `env:"PAVE_PROVISIONING_ACK_WAIT" envDefault:"90s"`
	// SweepRemove deletes orphans instead of only reporting them.
	SweepRemove bool `env:"PAVE_PROVISIONING_SWEEP_REMOVE" envDefault:"false"`
	// DriftInterval is how often the credential drift sweep compares the
	// logins on PostgreSQL and Redis targets with the grants; 0 turns the
	// periodic sweep off (the rpc still runs it on demand).
	DriftInterval time.Duration `env:"PAVE_PROVISIONING_DRIFT_INTERVAL" envDefault:"5m"`
	// DriftRemediate drops extra logins and issues missing ones again
	// instead of only reporting them.
	DriftRemediate bool `env:"PAVE_PROVISIONING_DRIFT_REMEDIATE" envDefault:"false"`
	// ReceiptTTL is how long an environment's teardown receipt is kept
	// after its last step.
	ReceiptTTL time.Duration `env:"PAVE_PROVISIONING_RECEIPT_TTL" envDefault:"720h"`
	// TombstoneRetention is how long the ledger keeps the tombstone of a
	// deleted resource (0: for ever). While it is kept a late provision of
	// the id is refused; after it, a provision command that old is refused
	// by its age. A command leaves CMD_PROVISIONING within minutes while
	// provisioning runs (MaxDeliver deliveries of at most
	// PAVE_PROVISIONING_ACK_WAIT each), so the window is what an outage
	// may last without a queued command being answered by its age.
	TombstoneRetention time.Duration `env:"PAVE_PROVISIONING_TOMBSTONE_RETENTION" envDefault:"720h"`
}

// tombstoneSweepEvery is how often tombstones past the retention go.
const tombstoneSweepEvery = time.Hour

// Validate names every variable that is wrong.
func (c Config) Validate() error {
	var errs []error
	if c.ReceiptTTL < time.Hour {
		errs = append(errs, config.Invalidf("PAVE_PROVISIONING_RECEIPT_TTL", "must be at least 1h, got %s", c.ReceiptTTL))
	}
	if c.PostgresURL != "" {
		if _, err := adapters.NewPostgres(c.PostgresURL); err != nil {
			errs = append(errs, config.Invalid("PAVE_PROVISIONING_POSTGRES_URL", err.Error()))
		}
	}
	if c.RedisURL != "" {
		if d, err := adapters.NewRedis(c.RedisURL); err != nil {
			errs = append(errs, config.Invalid("PAVE_PROVISIONING_REDIS_URL", err.Error()))
		} else {
			_ = d.Close()
		}
	}
	if u, err := url.Parse(c.NATSURL); c.NATSURL != "" && (err != nil || u.Host == "") {
		errs = append(errs, config.Invalidf("PAVE_PROVISIONING_NATS_URL", "%q is not a nats://host:port URL", c.NATSURL))
	}
	if _, err := adapters.NewHTTP(c.HTTPURL, "", time.Second); c.HTTPURL != "" && err != nil {
		errs = append(errs, config.Invalid("PAVE_PROVISIONING_HTTP_URL", err.Error()))
	}
	for name, d := range map[string]time.Duration{"PAVE_PROVISIONING_HTTP_TIMEOUT": c.HTTPTimeout, "PAVE_PROVISIONING_EXEC_TIMEOUT": c.ExecTimeout} {
		if limit := c.AckWait - c.AckWait/8; d <= 0 || d > limit {
			errs = append(errs, config.Invalidf(name, "must be > 0 and at most %s (PAVE_PROVISIONING_ACK_WAIT less a margin)", limit))
		}
	}
	if c.AckWait < 2*time.Second {
		errs = append(errs, config.Invalid("PAVE_PROVISIONING_ACK_WAIT", "must be at least 2s"))
	}
	if c.Key != "" && c.KeyFile != "" {
		errs = append(errs, config.Invalid("PAVE_PROVISIONING_KEY", "set PAVE_PROVISIONING_KEY or PAVE_PROVISIONING_KEY_FILE, not both"))
	}
	if _, err := adapters.ParseKey(c.Key); c.Key != "" && err != nil {
		errs = append(errs, config.Invalidf("PAVE_PROVISIONING_KEY", "want 32 bytes, base64: %v", err))
	}
	if c.TombstoneRetention != 0 && c.TombstoneRetention < 24*time.Hour {
		errs = append(errs, config.Invalidf("PAVE_PROVISIONING_TOMBSTONE_RETENTION", "must be 0 (keep every tombstone) or at least 24h, far longer than a command waits in CMD_PROVISIONING, got %s", c.TombstoneRetention))
	}
	if c.SweepInterval < 0 || c.SweepInterval > 0 && c.SweepInterval < time.Second {
		errs = append(errs, config.Invalid("PAVE_PROVISIONING_SWEEP_INTERVAL", "must be 0 (off) or at least 1s"))
	}
	if c.DriftInterval < 0 || c.DriftInterval > 0 && c.DriftInterval < time.Second {
		errs = append(errs, config.Invalid("PAVE_PROVISIONING_DRIFT_INTERVAL", "must be 0 (off) or at least 1s"))
	}
	return errors.Join(errs...)
}

// MasterKey returns the key that seals credentials: PAVE_PROVISIONING_KEY,
// or the key file, created when missing (created then says so).
func (c Config) MasterKey() (key []byte, file string, created bool, err error) {
	if c.Key != "" {
		key, err = adapters.ParseKey(c.Key)
		return key, "", false, err
	}
	file = c.KeyFile
	if file == "" {
		file = filepath.Join(c.DataDir, "provisioning.key")
	}
	key, created, err = adapters.LoadOrCreateKeyFile(file)
	return key, file, created, err
}

// LoadOrCreateKeyFile reads the base64 master key in path, or writes a
// new random one there (mode 0600) when the file does not exist.
func LoadOrCreateKeyFile(path string) (key []byte, created bool, err error) {
	return adapters.LoadOrCreateKeyFile(path)
}
