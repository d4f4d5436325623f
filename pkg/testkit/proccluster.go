package testkit

import (
	"bytes"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/stretchr/testify/require"
)

// natsServerPackage is the main package of the nats-server module, built
// at the version in this workspace's module graph, so the processes run
// the same server code as the embedded one.
const natsServerPackage = "github.com/nats-io/nats-server/v2"

// ProcessCluster is a JetStream route cluster of real nats-server
// processes on loopback, one per member, each with its own store. Kill
// sends SIGKILL: no shutdown, no goodbye to the peers. Its methods are
// safe for concurrent use.
type ProcessCluster struct {
	bin   string
	dir   string
	nodes []*natsNode
}

type natsNode struct {
	name                 string
	conf                 string
	client, route, httpP int

	mu   sync.Mutex // guards cmd and done
	cmd  *exec.Cmd
	done chan struct{}
	logs lockedBuffer
}

// NATSProcessCluster builds the nats-server binary (go build, cached by
// the build cache), starts n members routed to each other with
// sync_interval always, and returns once every member reports healthy.
// Use n >= 3 for R3 streams that survive a Kill.
func NATSProcessCluster(t testing.TB, n int) *ProcessCluster {
	t.Helper()
	require.Positive(t, n, "cluster size")
	c := &ProcessCluster{bin: buildNATSServer(t), dir: t.TempDir()}
	ports := freePorts(t, 3*n)
	routes := make([]string, n)
	for i := range n {
		routes[i] = fmt.Sprintf("nats-route://127.0.0.1:%d", ports[n+i])
	}
	for i := range n {
		nd := &natsNode{name: fmt.Sprintf("nats-%d", i), client: ports[i], route: ports[n+i], httpP: ports[2*n+i]}
		nd.conf = filepath.Join(c.dir, nd.name+".conf")
		require.NoError(t, os.WriteFile(nd.conf, []byte(nodeConfig(nd, c.dir, routes, i)), 0o600))
		c.nodes = append(c.nodes, nd)
	}
	t.Cleanup(func() {
		for i := range c.nodes {
			c.Kill(i)
		}
	})
	for i := range c.nodes {
		c.start(t, i)
	}
	c.WaitHealthy(t)
	return c
}

func nodeConfig(nd *natsNode, dir string, routes []string, self int) string {
	var peers []string
	for i, r := range routes {
		if i != self {
			peers = append(peers, r)
		}
	}
	return fmt.Sprintf(`server_name: %s
listen: 127.0.0.1:%d
http: 127.0.0.1:%d
max_payload: 8MB
jetstream {
  store_dir: %q
  sync_interval: always
}
cluster {
  name: pave-test
  listen: 127.0.0.1:%d
  routes: [%s]
}
`, nd.name, nd.client, nd.httpP, filepath.Join(dir, nd.name), nd.route, strings.Join(peers, ", "))
}

// buildNATSServer builds the nats-server command into a temporary folder.
func buildNATSServer(t testing.TB) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "nats-server")
	out, err := exec.Command("go", "build", "-o", bin, natsServerPackage).CombinedOutput()
	require.NoError(t, err, "build nats-server: %s", out)
	return bin
}

// URLs are the client URLs of all members, killed or not.
func (c *ProcessCluster) URLs() []string {
	urls := make([]string, len(c.nodes))
	for i, nd := range c.nodes {
		urls[i] = natsURL(nd.client)
	}
	return urls
}

// ClientURL is URLs joined with commas, as nats.Connect and PAVE_NATS_URL
// take them.
func (c *ProcessCluster) ClientURL() string { return strings.Join(c.URLs(), ",") }

// Name is member i's server name, as stream cluster info reports it.
func (c *ProcessCluster) Name(i int) string { return c.nodes[i].name }

// ServerIndex is the index of the member named name, or -1.
func (c *ProcessCluster) ServerIndex(name string) int {
	for i, nd := range c.nodes {
		if nd.name == name {
			return i
		}
	}
	return -1
}

// Running reports whether member i's process is alive.
func (c *ProcessCluster) Running(i int) bool {
	nd := c.nodes[i]
	nd.mu.Lock()
	defer nd.mu.Unlock()
	return nd.cmd != nil
}

// Kill sends member i SIGKILL and waits until the process is gone. Safe
// to repeat.
func (c *ProcessCluster) Kill(i int) {
	nd := c.nodes[i]
	nd.mu.Lock()
	defer nd.mu.Unlock()
	if nd.cmd == nil {
		return
	}
	_ = nd.cmd.Process.Signal(syscall.SIGKILL)
	<-nd.done
	nd.cmd = nil
}

// Restart kills member i if needed, starts it again with the same ports,
// name and store, and waits until every running member is healthy, so it
// has rejoined and caught up.
func (c *ProcessCluster) Restart(t testing.TB, i int) {
	t.Helper()
	c.Kill(i)
	c.start(t, i)
	c.WaitHealthy(t)
}

// Logs is what member i's processes wrote, restarts included.
func (c *ProcessCluster) Logs(i int) string {
	return c.nodes[i].logs.String()
}

func (c *ProcessCluster) start(t testing.TB, i int) {
	t.Helper()
	nd := c.nodes[i]
	nd.mu.Lock()
	defer nd.mu.Unlock()
	nd.cmd = exec.Command(c.bin, "-c", nd.conf)
	nd.cmd.Stdout, nd.cmd.Stderr = &nd.logs, &nd.logs
	DieWithParent(nd.cmd)
	require.NoError(t, nd.cmd.Start(), "start %s", nd.name)
	nd.done = make(chan struct{})
	go func(cmd *exec.Cmd, done chan struct{}) {
		_ = cmd.Wait()
		close(done)
	}(nd.cmd, nd.done)
}

// lockedBuffer is a process's output, written by exec's copying
// goroutines and read by Logs.
type lockedBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.String()
}

// WaitHealthy waits until every running member's /healthz answers 200:
// the meta group and every stream and consumer it holds are current.
func (c *ProcessCluster) WaitHealthy(t testing.TB) {
	t.Helper()
	require.Eventually(t, func() bool {
		for i, nd := range c.nodes {
			if !c.Running(i) {
				continue
			}
			resp, err := http.Get(fmt.Sprintf("http://127.0.0.1:%d/healthz", nd.httpP))
			if err != nil {
				return false
			}
			resp.Body.Close()
			if resp.StatusCode != http.StatusOK {
				return false
			}
		}
		return true
	}, clusterReadyTimeout, 50*time.Millisecond, "nats process cluster: not every member healthy")
}

// Conn connects to the cluster, reconnecting forever to any member, and
// closes the connection on cleanup.
func (c *ProcessCluster) Conn(t testing.TB, opts ...nats.Option) *nats.Conn {
	t.Helper()
	return connect(t, c.ClientURL(), opts...)
}

// JetStream returns a JetStream context on a new Conn.
func (c *ProcessCluster) JetStream(t testing.TB) jetstream.JetStream {
	t.Helper()
	return newJetStream(t, c.Conn(t))
}
