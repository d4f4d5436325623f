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
		func(nc *nats.Conn) (jetstream.JetStream, error) { return jetstream.New(nc) },
		httpfx.AsReadinessCheck(ReadinessCheck),
	),
)

// LoadConfig reads Config from the environment.
func LoadConfig() (Config, error) {
	var c Config
	return c, config.Load(&c)
}

// Embedded is the in-process server, or nil when connecting elsewhere.
type Embedded struct{ *server.Server }

// NewEmbeddedFromConfig starts the embedded server when PAVE_NATS_URL is
// empty. It shuts down after every connection is closed.
func NewEmbeddedFromConfig(lc fx.Lifecycle, cfg Config, log *slog.Logger) (*Embedded, error) {
	if !cfg.Embedded() {
		return &Embedded{}, nil
	}
	ec := EmbeddedConfig{StoreDir: cfg.StoreDir(), ServerName: "pave-dev", Port: -1, DontListen: true}
	if cfg.EmbeddedAddr != "off" {
		ec.DontListen = false
		host, port, _ := net.SplitHostPort(cfg.EmbeddedAddr)
		p, err := strconv.Atoi(port)
		if err != nil {
			return nil, config.Invalidf("PAVE_NATS_EMBEDDED_ADDR", "port %q is not a number", port)
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
	log.Info("embedded JetStream server started", "store_dir", ec.StoreDir, "client_url", srv.ClientURL())
	lc.Append(fx.StopHook(func() {
		srv.Shutdown()
		srv.WaitForShutdown()
	}))
	return &Embedded{srv}, nil
}

// NewConn connects to NATS and drains the connection on stop.
func NewConn(lc fx.Lifecycle, cfg Config, emb *Embedded, log *slog.Logger) (*nats.Conn, error) {
	opts := []nats.Option{
		nats.Name(cfg.Name),
		nats.MaxReconnects(-1),
		nats.ReconnectWait(250 * time.Millisecond),
		nats.DisconnectErrHandler(func(_ *nats.Conn, err error) {
			if err != nil {
				log.Warn("nats disconnected", "error", err)
			}
		}),
		nats.ReconnectHandler(func(nc *nats.Conn) { log.Info("nats reconnected", "url", nc.ConnectedUrl()) }),
	}
	url := cfg.URL
	if emb.Server != nil {
		opts = append(opts, nats.InProcessServer(emb.Server))
		url = ""
	}
	opts = append(opts, authOptions(cfg)...)
	nc, err := nats.Connect(url, opts...)
	if err != nil {
		return nil, fmt.Errorf("connect to nats %s: %w", cfg.URL, err)
	}
	lc.Append(fx.StopHook(func(ctx context.Context) error {
		return drain(ctx, nc)
	}))
	return nc, nil
}

func authOptions(cfg Config) []nats.Option {
	var opts []nats.Option
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
	return opts
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
