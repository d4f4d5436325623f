package natsfx

import (
	"fmt"
	"net/url"
	"time"

	"github.com/nats-io/nats-server/v2/server"
)

// EmbeddedConfig describes an in-process NATS server with JetStream. It is
// what `pave dev`, the test kit and the benchmarks run; production runs a
// real nats-server cluster configured the same way (sync always).
type EmbeddedConfig struct {
	// StoreDir holds the JetStream file store. Required.
	StoreDir string
	// Host and Port of the client listener; Port -1 picks a free port.
	Host string
	Port int
	// DontListen serves in-process connections only (nats.InProcessServer).
	DontListen bool
	// ServerName must be unique inside a cluster.
	ServerName string
	// Cluster joins the server to a route cluster when set.
	Cluster *ClusterConfig
	// Users, when set, are the only clients the server accepts, with
	// TenantLogins (may be nil) in TenantAccount.
	Users        []EmbeddedUser
	TenantLogins *TenantLogins
}

// ClusterConfig is the route configuration of one member of a cluster.
type ClusterConfig struct {
	Name   string
	Host   string
	Port   int
	Routes []string // nats-route://host:port of the other members
}

// StartEmbedded starts a JetStream-enabled server that fsyncs every write
// (SyncAlways), and waits until it accepts connections.
func StartEmbedded(cfg EmbeddedConfig) (*server.Server, error) {
	if cfg.StoreDir == "" {
		return nil, fmt.Errorf("embedded nats: store dir is required")
	}
	host := cfg.Host
	if host == "" {
		host = "127.0.0.1"
	}
	opts := &server.Options{
		ServerName: cfg.ServerName,
		Host:       host,
		Port:       cfg.Port,
		JetStream:  true,
		StoreDir:   cfg.StoreDir,
		SyncAlways: true,
		NoSigs:     true,
		DontListen: cfg.DontListen,
		// Generous payload for batch ingress; JetStream limits are per stream.
		MaxPayload: 8 << 20,
	}
	if cfg.Cluster != nil {
		opts.Cluster = server.ClusterOpts{Name: cfg.Cluster.Name, Host: cfg.Cluster.Host, Port: cfg.Cluster.Port}
		routes, err := parseRoutes(cfg.Cluster.Routes)
		if err != nil {
			return nil, err
		}
		opts.Routes = routes
	}
	var auth *authenticator
	if len(cfg.Users) > 0 {
		applyUsers(opts, cfg.Users)
		// The server checks every client with auth, which knows the
		// fixed users and the tenants' logins set while it runs.
		auth = newAuthenticator(cfg.Users, cfg.TenantLogins)
		opts.CustomClientAuthentication = auth
		opts.Users = nil
	}
	srv, err := server.NewServer(opts)
	if err != nil {
		return nil, fmt.Errorf("embedded nats: %w", err)
	}
	if auth != nil {
		if err := auth.bind(srv); err != nil {
			return nil, err
		}
	}
	go srv.Start()
	if !srv.ReadyForConnections(10 * time.Second) {
		srv.Shutdown()
		return nil, fmt.Errorf("embedded nats: not ready for connections after 10s")
	}
	if len(cfg.Users) > 0 {
		if err := enableJetStream(srv, cfg.Users); err != nil {
			srv.Shutdown()
			return nil, err
		}
	}
	return srv, nil
}

func parseRoutes(urls []string) ([]*url.URL, error) {
	var out []*url.URL
	for _, u := range urls {
		parsed := server.RoutesFromStr(u)
		if len(parsed) == 0 {
			return nil, fmt.Errorf("embedded nats: bad route %q", u)
		}
		out = append(out, parsed...)
	}
	return out, nil
}
