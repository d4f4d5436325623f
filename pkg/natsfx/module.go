// Package natsfx gives a process its NATS connection: to the cluster named
// by PAVE_NATS_URL, or to an embedded JetStream server it starts itself.
package natsfx

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"strconv"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"go.uber.org/fx"

	"github.com/pave-platform/pave/pkg/config"
	"github.com/pave-platform/pave/pkg/httpfx"
)

// Module provides *nats.Conn and jetstream.JetStream, plus a readiness
// check on the connection.
var Module = fx.Module("nats",
	fx.Provide(
		LoadConfig,
		NewEmbeddedFromConfig,
		NewConn,
		NewTenants,
		func(nc *nats.Conn) (jetstream.JetStream, error) { return jetstream.New(nc) },
		httpfx.AsReadinessCheck(ReadinessCheck),
	),
)

// LoadConfig reads Config from the environment.
func LoadConfig() (Config, error) {
	var c Config
	return c, config.Load(&c)
}

// Embedded is the in-process server, or nil when connecting elsewhere,
// with the users it accepts.
type Embedded struct {
	*server.Server
	users   []EmbeddedUser
	tenants *TenantLogins
}

func (e *Embedded) password(user string) string {
	for _, u := range e.users {
		if u.Name == user {
			return u.Password
		}
	}
	return ""
}

// NewEmbeddedFromConfig starts the embedded server when PAVE_NATS_URL is
// empty. It shuts down after every connection is closed.
func NewEmbeddedFromConfig(lc fx.Lifecycle, cfg Config, log *slog.Logger) (*Embedded, error) {
	if !cfg.Embedded() {
		return &Embedded{}, nil
	}
	users, err := EnsureEmbeddedUsers(cfg.CredentialsDir())
	if err != nil {
		return nil, err
	}
	tenants, err := OpenTenantLogins(TenantLoginsFile(cfg.CredentialsDir()))
	if err != nil {
		return nil, err
	}
	ec := EmbeddedConfig{StoreDir: cfg.StoreDir(), ServerName: "pave-dev", Port: -1, DontListen: true,
		Users: users, TenantLogins: tenants}
	if cfg.EmbeddedAddr != "off" {
		ec.DontListen = false
		host, port, _ := net.SplitHostPort(cfg.EmbeddedAddr)
		p, err := strconv.Atoi(port)
		if err != nil {
			return nil, config.Invalidf("PAVE_NATS_EMBEDDED_ADDR", "port %q is not a number", port)
		}
		if p == 0 {
			p = -1 // any free port
		}
		ec.Host, ec.Port = host, p
		if l, err := net.Listen("tcp", cfg.EmbeddedAddr); err != nil {
			return nil, config.Invalidf("PAVE_NATS_EMBEDDED_ADDR", "cannot listen on %s (%v); is another pave dev running? choose another address, or off", cfg.EmbeddedAddr, err)
		} else {
			_ = l.Close()
		}
	}
	srv, err := StartEmbedded(ec)
	if err != nil {
		return nil, err
	}
	log.Info("embedded JetStream server started", "store_dir", ec.StoreDir, "client_url", srv.ClientURL(),
		"user", PlatformUser, "password_file", PasswordFile(cfg.CredentialsDir(), PlatformUser))
	lc.Append(fx.StopHook(func() {
		srv.Shutdown()
		srv.WaitForShutdown()
	}))
	return &Embedded{Server: srv, users: users, tenants: tenants}, nil
}

// NewConn connects to NATS and drains the connection on stop. With the
// embedded server it logs in as PlatformUser, the process's own login
// (each service module opens its own, see ServiceConn); elsewhere as the
// configuration says (PAVE_NATS_USER: one service per process).
func NewConn(lc fx.Lifecycle, cfg Config, emb *Embedded, log *slog.Logger) (*nats.Conn, error) {
	if emb.Server != nil {
		return connectEmbedded(lc, cfg.Name, emb, PlatformUser, log)
	}
	opts := connOptions(cfg.Name, log)
	if cfg.User != "" {
		// Replies to this user arrive under its own prefix, the only
		// inbox its permissions let it read.
		opts = append(opts, nats.CustomInboxPrefix(InboxPrefix(cfg.User)))
	}
	auth, err := authOptions(cfg)
	if err != nil {
		return nil, err
	}
	nc, err := nats.Connect(cfg.URL, append(opts, auth...)...)
	if err != nil {
		return nil, fmt.Errorf("connect to nats %s: %w", cfg.URL, err)
	}
	lc.Append(fx.StopHook(func(ctx context.Context) error { return drain(ctx, nc) }))
	return nc, nil
}

// ServiceConn is the connection of the service whose NATS user is user.
// With the embedded server (`pave dev`: every service in one process) it
// is a connection of its own, logged in as user, drained on stop; a
// process connected elsewhere runs one service and logs in as its
// configuration says, so its connection nc is the service's.
func ServiceConn(lc fx.Lifecycle, cfg Config, emb *Embedded, log *slog.Logger, nc *nats.Conn, user string) (*nats.Conn, error) {
	if emb.Server == nil {
		if cfg.User != "" && cfg.User != user {
			log.Warn("nats login is not the service's own", "user", cfg.User, "service_user", user)
		}
		return nc, nil
	}
	return connectEmbedded(lc, cfg.Name+"-"+user, emb, user, log)
}

func connectEmbedded(lc fx.Lifecycle, name string, emb *Embedded, user string, log *slog.Logger) (*nats.Conn, error) {
	pw := emb.password(user)
	if pw == "" {
		return nil, fmt.Errorf("embedded nats has no user %s", user)
	}
	opts := append(connOptions(name, log), nats.InProcessServer(emb.Server), nats.UserInfo(user, pw))
	if user != PlatformUser {
		opts = append(opts, nats.CustomInboxPrefix(InboxPrefix(user)))
	}
	nc, err := nats.Connect("", opts...)
	if err != nil {
		return nil, fmt.Errorf("connect to the embedded nats as %s: %w", user, err)
	}
	lc.Append(fx.StopHook(func(ctx context.Context) error { return drain(ctx, nc) }))
	return nc, nil
}

func connOptions(name string, log *slog.Logger) []nats.Option {
	return []nats.Option{
		nats.Name(name),
		nats.MaxReconnects(-1),
		nats.ReconnectWait(250 * time.Millisecond),
		nats.DisconnectErrHandler(func(_ *nats.Conn, err error) {
			if err != nil {
				log.Warn("nats disconnected", "error", err)
			}
		}),
		nats.ReconnectHandler(func(nc *nats.Conn) { log.Info("nats reconnected", "url", nc.ConnectedUrl()) }),
		nats.ErrorHandler(func(_ *nats.Conn, sub *nats.Subscription, err error) {
			if sub != nil {
				log.Error("nats error", "subject", sub.Subject, "error", err)
				return
			}
			log.Error("nats error", "error", err)
		}),
	}
}

func authOptions(cfg Config) ([]nats.Option, error) {
	var opts []nats.Option
	if cfg.User != "" {
		p := cfg.Password
		if p == "" {
			var err error
			if p, err = readPassword(cfg.PasswordFile); err != nil {
				return nil, err
			}
		}
		opts = append(opts, nats.UserInfo(cfg.User, p))
	}
	if cfg.CredsFile != "" {
		opts = append(opts, nats.UserCredentials(cfg.CredsFile))
	}
	if cfg.Token != "" {
		opts = append(opts, nats.Token(cfg.Token))
	}
	if cfg.TLSCA != "" {
		opts = append(opts, nats.RootCAs(cfg.TLSCA))
	}
	if cfg.TLSCert != "" {
		opts = append(opts, nats.ClientCert(cfg.TLSCert, cfg.TLSKey))
	}
	return opts, nil
}

// Tenants is the embedded server's account for the environments' NATS
// resources, apart from the platform's. It is nil when the process
// connects to a NATS of its own configuration.
type Tenants struct {
	JetStream jetstream.JetStream
	// URL is where tenants connect ("" when the server listens only in
	// process), User the login the provisioning service makes their
	// streams with.
	URL  string
	User string
	// Logins are the resources' and grants' own logins.
	Logins *TenantLogins
}

// NewTenants connects to the tenants' account of the embedded server.
func NewTenants(lc fx.Lifecycle, emb *Embedded) (*Tenants, error) {
	if emb.Server == nil {
		return nil, nil
	}
	nc, err := nats.Connect("", nats.Name("pave-tenants"), nats.InProcessServer(emb.Server),
		nats.UserInfo(TenantUser, emb.password(TenantUser)), nats.MaxReconnects(-1))
	if err != nil {
		return nil, fmt.Errorf("connect to the tenants' account: %w", err)
	}
	lc.Append(fx.StopHook(func(ctx context.Context) error { return drain(ctx, nc) }))
	js, err := jetstream.New(nc)
	if err != nil {
		return nil, err
	}
	t := &Tenants{JetStream: js, User: TenantUser, Logins: emb.tenants}
	if emb.Addr() != nil {
		t.URL = emb.ClientURL()
	}
	return t, nil
}

// drain flushes what the connection still holds and closes it.
func drain(ctx context.Context, nc *nats.Conn) error {
	closed := make(chan struct{})
	nc.SetClosedHandler(func(*nats.Conn) { close(closed) })
	if err := nc.Drain(); err != nil {
		nc.Close()
		return nil
	}
	select {
	case <-closed:
		return nil
	case <-ctx.Done():
		nc.Close()
		return fmt.Errorf("drain nats connection: %w", ctx.Err())
	}
}

// ReadinessCheck reports the connection state.
func ReadinessCheck(nc *nats.Conn) httpfx.ReadinessCheck {
	return httpfx.ReadinessCheck{Name: "nats", Check: func(context.Context) error {
		if !nc.IsConnected() {
			return fmt.Errorf("nats connection is %s", nc.Status())
		}
		return nil
	}}
}
