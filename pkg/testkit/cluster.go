package testkit

import (
	"fmt"
	"net"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/stretchr/testify/require"

	"github.com/pave-platform/pave/pkg/natsfx"
)

// clusterReadyTimeout bounds waiting for a meta leader that sees every
// peer; route reconnects and stats exchange take a few seconds.
const clusterReadyTimeout = 30 * time.Second

// Cluster is a JetStream route cluster of embedded servers in this
// process. Its methods are not safe for concurrent use with Kill or
// Restart.
type Cluster struct {
	cfgs []natsfx.EmbeddedConfig
	srvs []*server.Server // nil while killed
}

// NATSCluster starts n JetStream servers routed to each other, each with
// its own free ports and t.TempDir() store, and returns once a meta
// leader sees all n peers. Use n >= 3 for R3 streams that survive a Kill.
func NATSCluster(t testing.TB, n int) *Cluster {
	t.Helper()
	require.Positive(t, n, "cluster size")
	ports := freePorts(t, 2*n)
	clientPorts, routePorts := ports[:n], ports[n:]
	c := &Cluster{srvs: make([]*server.Server, n)}
	for i := range n {
		c.cfgs = append(c.cfgs, natsfx.EmbeddedConfig{
			StoreDir:   t.TempDir(),
			Port:       clientPorts[i],
			ServerName: "testkit-" + strconv.Itoa(i),
			Cluster: &natsfx.ClusterConfig{
				Name:   "testkit",
				Host:   "127.0.0.1",
				Port:   routePorts[i],
				Routes: routesExcept(routePorts, i),
			},
		})
	}
	t.Cleanup(c.shutdownAll)
	for i := range n {
		c.start(t, i)
	}
	c.waitReady(t)
	return c
}

// URLs are the client URLs of all members, killed or not.
func (c *Cluster) URLs() []string {
	urls := make([]string, len(c.cfgs))
	for i, cfg := range c.cfgs {
		urls[i] = natsURL(cfg.Port)
	}
	return urls
}

// ClientURL is URLs joined with commas, as nats.Connect takes them.
func (c *Cluster) ClientURL() string { return strings.Join(c.URLs(), ",") }

// Server is member i, nil while it is killed.
func (c *Cluster) Server(i int) *server.Server { return c.srvs[i] }

// ServerIndex is the index of the member named name (as in stream
// cluster info), or -1.
func (c *Cluster) ServerIndex(name string) int {
	for i, cfg := range c.cfgs {
		if cfg.ServerName == name {
			return i
		}
	}
	return -1
}

// Kill shuts member i down and waits until it is down. Safe to repeat.
func (c *Cluster) Kill(i int) {
	if c.srvs[i] == nil {
		return
	}
	c.srvs[i].Shutdown()
	c.srvs[i].WaitForShutdown()
	c.srvs[i] = nil
}

// Restart kills member i if needed, starts it again with the same ports,
// name and store, and waits until it has rejoined the JetStream cluster.
func (c *Cluster) Restart(t testing.TB, i int) {
	t.Helper()
	c.Kill(i)
	c.start(t, i)
	c.waitReady(t)
}

// Conn connects to the cluster, reconnecting forever to any member, and
// closes the connection on cleanup.
func (c *Cluster) Conn(t testing.TB, opts ...nats.Option) *nats.Conn {
	t.Helper()
	return connect(t, c.ClientURL(), opts...)
}

// JetStream returns a JetStream context on a new Conn.
func (c *Cluster) JetStream(t testing.TB) jetstream.JetStream {
	t.Helper()
	return newJetStream(t, c.Conn(t))
}

func (c *Cluster) start(t testing.TB, i int) {
	t.Helper()
	srv, err := natsfx.StartEmbedded(c.cfgs[i])
	require.NoError(t, err, "start nats cluster member %d", i)
	c.srvs[i] = srv
}

func (c *Cluster) shutdownAll() {
	for i := range c.srvs {
		c.Kill(i)
	}
}

// waitReady waits until a running member is meta leader, sees every
// running member as a peer, and every running member is current.
func (c *Cluster) waitReady(t testing.TB) {
	t.Helper()
	require.Eventually(t, c.ready, clusterReadyTimeout, 50*time.Millisecond,
		"nats cluster: no meta leader with all %d running peers", c.running())
}

func (c *Cluster) ready() bool {
	leaders := 0
	for _, srv := range c.srvs {
		if srv == nil {
			continue
		}
		if !srv.JetStreamIsCurrent() {
			return false
		}
		if srv.JetStreamIsLeader() && len(srv.JetStreamClusterPeers()) == c.running() {
			leaders++
		}
	}
	return leaders == 1
}

func (c *Cluster) running() int {
	n := 0
	for _, srv := range c.srvs {
		if srv != nil {
			n++
		}
	}
	return n
}

func routesExcept(ports []int, self int) []string {
	var routes []string
	for i, port := range ports {
		if i != self {
			routes = append(routes, fmt.Sprintf("nats-route://127.0.0.1:%d", port))
		}
	}
	return routes
}

func natsURL(port int) string { return fmt.Sprintf("nats://127.0.0.1:%d", port) }

// freePorts returns n distinct free ports, holding all listeners open
// until every port is chosen so none is handed out twice.
func freePorts(t testing.TB, n int) []int {
	t.Helper()
	ports := make([]int, 0, n)
	for range n {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		require.NoError(t, err, "free port")
		defer l.Close()
		ports = append(ports, l.Addr().(*net.TCPAddr).Port)
	}
	return ports
}
