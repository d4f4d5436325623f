package testkit

import (
	"net"
	"testing"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/stretchr/testify/require"

	"github.com/pave-platform/pave/pkg/natsfx"
)

// reconnectWait is short so clients find a restarted server quickly.
const reconnectWait = 25 * time.Millisecond

// NATSServer is an embedded JetStream server. Its methods are not safe
// for concurrent use with Restart or Shutdown.
type NATSServer struct {
	cfg natsfx.EmbeddedConfig
	srv *server.Server
}

// NATS starts an embedded JetStream server on a free port with storage in
// t.TempDir(), shut down on cleanup.
func NATS(t testing.TB) *NATSServer {
	t.Helper()
	s := &NATSServer{cfg: natsfx.EmbeddedConfig{StoreDir: t.TempDir(), Port: -1, ServerName: "testkit"}}
	srv, err := natsfx.StartEmbedded(s.cfg)
	require.NoError(t, err, "start nats")
	s.srv = srv
	// Restart must come back on the same port so clients reconnect.
	s.cfg.Port = srv.Addr().(*net.TCPAddr).Port
	t.Cleanup(s.Shutdown)
	return s
}

// URL is the client URL, stable across restarts.
func (s *NATSServer) URL() string { return natsURL(s.cfg.Port) }

// Server is the running server, nil after Shutdown.
func (s *NATSServer) Server() *server.Server { return s.srv }

// Shutdown stops the server and waits until it is down. Safe to repeat.
func (s *NATSServer) Shutdown() {
	if s.srv == nil {
		return
	}
	s.srv.Shutdown()
	s.srv.WaitForShutdown()
	s.srv = nil
}

// Restart shuts the server down and starts it again on the same port and
// store, like a process restart: connected clients reconnect and stream
// data survives.
func (s *NATSServer) Restart(t testing.TB) {
	t.Helper()
	s.Shutdown()
	srv, err := natsfx.StartEmbedded(s.cfg)
	require.NoError(t, err, "restart nats")
	s.srv = srv
}

// Conn connects to the server, reconnecting forever, and closes the
// connection on cleanup. opts come after the defaults and may override
// them.
func (s *NATSServer) Conn(t testing.TB, opts ...nats.Option) *nats.Conn {
	t.Helper()
	return connect(t, s.URL(), opts...)
}

// JetStream returns a JetStream context on a new Conn.
func (s *NATSServer) JetStream(t testing.TB) jetstream.JetStream {
	t.Helper()
	return newJetStream(t, s.Conn(t))
}

func connect(t testing.TB, url string, opts ...nats.Option) *nats.Conn {
	t.Helper()
	defaults := []nats.Option{
		nats.Name(t.Name()),
		nats.MaxReconnects(-1),
		nats.ReconnectWait(reconnectWait),
		nats.ReconnectJitter(reconnectWait, reconnectWait),
	}
	nc, err := nats.Connect(url, append(defaults, opts...)...)
	require.NoError(t, err, "connect to nats %s", url)
	t.Cleanup(nc.Close)
	return nc
}

func newJetStream(t testing.TB, nc *nats.Conn) jetstream.JetStream {
	t.Helper()
	js, err := jetstream.New(nc)
	require.NoError(t, err, "jetstream")
	return js
}
