package adapters_test

import (
	"context"
	"log/slog"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/fx/fxtest"

	"github.com/pave-platform/pave/pkg/natsfx"
	"github.com/pave-platform/pave/services/provisioning/internal/adapters"
	"github.com/pave-platform/pave/services/provisioning/internal/domain"
)

// devTenants starts the embedded server as `pave dev` does and returns
// the NATS driver on its tenants' account, with the account's logins.
func devTenants(t *testing.T, dir string) (adapters.NATSWithLogins, *natsfx.Tenants) {
	t.Helper()
	lc, tenants := startDevServer(t, dir)
	t.Cleanup(lc.RequireStop)
	return adapters.NATSWithLogins{NATS: adapters.NewNATS(tenants.JetStream, tenants.URL, tenants.Logins)}, tenants
}

// startDevServer starts the embedded server on dir; the caller stops lc.
func startDevServer(t *testing.T, dir string) (*fxtest.Lifecycle, *natsfx.Tenants) {
	t.Helper()
	cfg := natsfx.Config{DataDir: dir, EmbeddedAddr: "127.0.0.1:0", Name: "test"}
	lc := fxtest.NewLifecycle(t)
	emb, err := natsfx.NewEmbeddedFromConfig(lc, cfg, slog.New(slog.DiscardHandler))
	require.NoError(t, err)
	tenants, err := natsfx.NewTenants(lc, emb)
	require.NoError(t, err)
	lc.RequireStart()
	require.NotNil(t, tenants.Logins)
	return lc, tenants
}

// tenantClient connects with creds as a tenant's application would: the
// URL carries the login, replies come under the login's inbox prefix.
// violations collects what the server refused.
type tenantClient struct {
	nc *nats.Conn
	js jetstream.JetStream
	mu sync.Mutex
	vs []string
}

func connectTenant(t *testing.T, creds domain.Credentials) (*tenantClient, error) {
	t.Helper()
	c := &tenantClient{}
	nc, err := nats.Connect(creds.URL, nats.CustomInboxPrefix(natsfx.InboxPrefix(creds.Username)), nats.MaxReconnects(0),
		nats.ErrorHandler(func(_ *nats.Conn, _ *nats.Subscription, err error) {
			c.mu.Lock()
			c.vs = append(c.vs, err.Error())
			c.mu.Unlock()
		}))
	if err != nil {
		return nil, err
	}
	t.Cleanup(nc.Close)
	c.nc = nc
	c.js, err = jetstream.New(nc)
	require.NoError(t, err)
	return c, nil
}

// refused waits for the server's permissions violation naming subject.
func (c *tenantClient) refused(t *testing.T, op, subject string) {
	t.Helper()
	want := strings.ToLower("Permissions Violation for " + op + " to \"" + subject + "\"")
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		c.mu.Lock()
		for _, v := range c.vs {
			if strings.Contains(strings.ToLower(v), want) {
				c.mu.Unlock()
				return
			}
		}
		c.mu.Unlock()
		time.Sleep(20 * time.Millisecond)
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	t.Fatalf("the server reported no %q within 10s; it reported %q", want, c.vs)
}

// Each NATS resource of pave dev gets a login of its own that reaches
// its stream and subjects only: not another tenant's, not the stream's
// settings, not the platform's. A grant's login is read-only unless it
// writes; deleting the resource removes every login that reached it and
// closes their connections; the logins survive a restart of the server.
func TestAttackNATSTenantLoginReachesOnlyItsOwnResource(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	dir := t.TempDir()
	d, _ := devTenants(t, dir)

	a := domain.Resource{ID: "enva-events", EnvironmentID: "enva", Driver: "nats"}
	b := domain.Resource{ID: "envb-events", EnvironmentID: "envb", Driver: "nats"}
	resA, err := d.Provision(ctx, a)
	require.NoError(t, err)
	resB, err := d.Provision(ctx, b)
	require.NoError(t, err)
	require.NotNil(t, resA.Credentials, "the resource comes with its own login")
	assert.Equal(t, "pave_enva_events", resA.Credentials.Username)
	assert.Equal(t, natsfx.InboxPrefix("pave_enva_events"), resA.Outputs["inbox_prefix"])
	assert.NotContains(t, resA.Outputs["url"], resA.Credentials.Password, "outputs carry no secret")

	ca, err := connectTenant(t, *resA.Credentials)
	require.NoError(t, err, "the resource's login gets in")
	_, err = ca.js.Publish(ctx, "env.enva-events.orders", []byte("{}"))
	require.NoError(t, err, "it publishes to its stream")
	s, err := ca.js.Stream(ctx, "pave_enva_events")
	require.NoError(t, err, "it reads its stream's info")
	cons, err := s.OrderedConsumer(ctx, jetstream.OrderedConsumerConfig{})
	require.NoError(t, err, "it reads its stream through a consumer")
	msg, err := cons.Next(jetstream.FetchMaxWait(5 * time.Second))
	require.NoError(t, err)
	assert.Equal(t, "env.enva-events.orders", msg.Subject())

	// Another tenant's subjects and stream, the stream's settings and the
	// platform's subjects are refused by the server.
	require.NoError(t, ca.nc.Publish("env.envb-events.orders", []byte("{}")))
	ca.refused(t, "Publish", "env.envb-events.orders")
	_, err = ca.nc.SubscribeSync("env.envb-events.>")
	require.NoError(t, err)
	ca.refused(t, "Subscription", "env.envb-events.>")
	short, cancelShort := context.WithTimeout(ctx, 2*time.Second)
	_, err = ca.js.Stream(short, "pave_envb_events")
	cancelShort()
	require.Error(t, err, "another tenant's stream is not within reach")
	ca.refused(t, "Publish", "$JS.API.STREAM.INFO.pave_envb_events")
	short, cancelShort = context.WithTimeout(ctx, 2*time.Second)
	err = s.Purge(short)
	cancelShort()
	require.Error(t, err, "a tenant cannot purge its stream out of teardown's reach")
	ca.refused(t, "Publish", "$JS.API.STREAM.PURGE.pave_enva_events")
	short, cancelShort = context.WithTimeout(ctx, 2*time.Second)
	_, err = ca.js.UpdateStream(short, jetstream.StreamConfig{Name: "pave_enva_events", Subjects: []string{">"}})
	cancelShort()
	require.Error(t, err, "nor change its settings")
	require.NoError(t, ca.nc.Publish("pave.audit.decision", []byte("{}")))
	ca.refused(t, "Publish", "pave.audit.decision")

	// A read-only grant's login reads and does not write.
	g, err := d.IssueGrant(ctx, a.ID, "paveg_viewer1", false, time.Now().Add(time.Hour))
	require.NoError(t, err)
	cg, err := connectTenant(t, g)
	require.NoError(t, err)
	gs, err := cg.js.Stream(ctx, "pave_enva_events")
	require.NoError(t, err)
	gcons, err := gs.OrderedConsumer(ctx, jetstream.OrderedConsumerConfig{})
	require.NoError(t, err)
	_, err = gcons.Next(jetstream.FetchMaxWait(5 * time.Second))
	require.NoError(t, err, "the viewer's login reads the stream")
	require.NoError(t, cg.nc.Publish("env.enva-events.orders", []byte("{}")))
	cg.refused(t, "Publish", "env.enva-events.orders")
	logins, err := d.Logins(ctx, a.ID)
	require.NoError(t, err)
	assert.Equal(t, []string{"paveg_viewer1"}, logins, "drift sees the grant's login on the resource")
	names, err := d.GrantNames(ctx)
	require.NoError(t, err)
	assert.Equal(t, []string{"paveg_viewer1"}, names)

	// Deleting the resource closes and removes every login that reached it.
	_, err = d.Deprovision(ctx, a.ID)
	require.NoError(t, err)
	for _, c := range []*tenantClient{ca, cg} {
		require.Eventually(t, c.nc.IsClosed, 10*time.Second, 20*time.Millisecond, "a removed login's connection is closed")
	}
	_, err = connectTenant(t, *resA.Credentials)
	require.Error(t, err, "a removed login is refused")
	_, err = connectTenant(t, g)
	require.Error(t, err, "the grant's login went with the resource")
	_, err = connectTenant(t, *resB.Credentials)
	require.NoError(t, err, "the other tenant's login stays")

	// The logins live on the server: its file has B's and nothing of A's,
	// and no password in the clear.
	kept, err := natsfx.OpenTenantLogins(natsfx.TenantLoginsFile(dir + "/nats"))
	require.NoError(t, err)
	assert.Equal(t, []string{"pave_envb_events"}, kept.Names(""))
}

// A login is kept across a restart of the server.
func TestNATSTenantLoginsSurviveARestart(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	dir := t.TempDir()
	lc, tenants := startDevServer(t, dir)
	d := adapters.NewNATS(tenants.JetStream, tenants.URL, tenants.Logins)
	res, err := d.Provision(ctx, domain.Resource{ID: "envc-events", EnvironmentID: "envc", Driver: "nats"})
	require.NoError(t, err)
	lc.RequireStop()

	_, again := devTenants(t, dir)
	// The restarted server listens on another free port; the login is
	// the same.
	c := *res.Credentials
	u, err := url.Parse(again.URL)
	require.NoError(t, err)
	u.User = url.UserPassword(c.Username, c.Password)
	c.URL = u.String()
	cc, err := connectTenant(t, c)
	require.NoError(t, err, "the login gets in after the restart")
	_, err = cc.js.Publish(ctx, "env.envc-events.x", []byte("{}"))
	require.NoError(t, err, "with its rights")
	c.Password = "not-" + c.Password
	u.User = url.UserPassword(c.Username, c.Password)
	c.URL = u.String()
	_, err = connectTenant(t, c)
	require.Error(t, err, "a wrong password is refused")
}
