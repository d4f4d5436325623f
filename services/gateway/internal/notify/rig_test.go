package notify

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	standardwebhooks "github.com/standard-webhooks/standard-webhooks/libraries/go"
	"github.com/stretchr/testify/require"

	"github.com/pave-platform/pave/pkg/authn"
	"github.com/pave-platform/pave/pkg/bus"
	"github.com/pave-platform/pave/pkg/events"
	"github.com/pave-platform/pave/pkg/policy"
	"github.com/pave-platform/pave/pkg/schema"
	"github.com/pave-platform/pave/pkg/service"
	"github.com/pave-platform/pave/pkg/testkit"
	"github.com/pave-platform/pave/services/access/audit"
	"github.com/pave-platform/pave/services/gateway/internal/ports"
)

// testConfig allows loopback explicitly (the receivers are httptest
// servers on 127.0.0.1) and retries fast.
func testConfig() Config {
	return Config{AllowCIDRs: []string{"127.0.0.0/8"}, AllowHTTP: true, RetryBase: 50 * time.Millisecond,
		RetryMax: 400 * time.Millisecond, RetryFor: time.Hour, Poll: 200 * time.Millisecond, DisableAfter: time.Hour,
		Timeout: 2 * time.Second, RotationOverlap: time.Hour, MaxSubscriptions: 2000, DeliveryRetention: time.Hour,
		AlertRetention: time.Hour, MaxPending: 20000, Workers: 8,
		Streams: []string{"EVT_LIFECYCLE", "EVT_COST", "EVT_GATEWAY", "EVT_ACCESS"}}
}

// rig is notify on an embedded JetStream server behind the gateway's
// real authorization (Cedar policies of deploy/policies, audit ledger),
// served over a real socket; tokens name principals.
type rig struct {
	t    testing.TB
	nats *testkit.NATSServer
	nc   *nats.Conn
	cfg  Config
	bus  *bus.Bus
	svc  *Service
	rt   *service.Runtime
	api  *httptest.Server
}

var principals = map[string]authn.Principal{
	"admin": {ID: "root", Kind: authn.KindUser, Roles: []string{authn.RolePlatformAdmin}},
	"ana":   {ID: "ana", Kind: authn.KindUser, Teams: []string{"alpha"}, TeamRoles: map[string]string{"alpha": "developer"}},
	"bo":    {ID: "bo", Kind: authn.KindUser, Teams: []string{"beta"}, TeamRoles: map[string]string{"beta": "developer"}},
	"vera":  {ID: "vera", Kind: authn.KindUser, Teams: []string{"alpha"}, TeamRoles: map[string]string{"alpha": "viewer"}},
}

type tokens struct{}

func (tokens) Authenticate(_ context.Context, token string) (authn.Principal, error) {
	if p, ok := principals[token]; ok {
		return p, nil
	}
	return authn.Principal{}, errors.New("unknown token")
}

func newRig(t testing.TB, cfg Config) *rig {
	t.Helper()
	r := &rig{t: t, nats: testkit.NATS(t), cfg: cfg}
	r.connect()
	js := r.bus.JetStream()
	policies, err := policy.Load(policy.Config{PoliciesDir: "../../../../deploy/policies"})
	require.NoError(t, err)
	reg, err := schema.Default()
	require.NoError(t, err)
	apiCfg := ports.Config{StreamsPerPrincipal: 8}
	h := ports.API(ports.Deps{Auth: tokens{}, Types: reg, Authz: ports.Authz{Decider: policy.New(policies), Recorder: audit.NewLedger(js)},
		Log: slog.New(slog.DiscardHandler), JS: js, Registry: reg, Config: &apiCfg,
		Notify: http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) { r.svc.Handler().ServeHTTP(w, req) })})
	r.api = httptest.NewServer(h)
	t.Cleanup(r.api.Close)
	r.start()
	t.Cleanup(func() { r.stop() })
	return r
}

// connect opens a new connection and bus (a new deliverer process).
func (r *rig) connect() {
	nc := r.nats.Conn(r.t)
	r.nc = nc
	reg, err := schema.Default()
	require.NoError(r.t, err)
	r.bus, err = bus.New(nc, reg, schema.SubjectFor)
	require.NoError(r.t, err)
	so := bus.DefaultStreamOptions()
	ctx := context.Background()
	require.NoError(r.t, bus.EnsureStreams(ctx, r.bus.JetStream(), bus.CoreStreams(so)...))
	require.NoError(r.t, bus.EnsureStreams(ctx, r.bus.JetStream(), bus.ServiceStreams("gateway", so)...))
}

// start builds notify and starts its consumers.
func (r *rig) start() {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	svc, err := New(ctx, r.cfg, r.bus, bus.DefaultStreamOptions(), slog.New(slog.DiscardHandler))
	require.NoError(r.t, err)
	rt := service.NewRuntime(r.bus, nil, slog.New(slog.DiscardHandler))
	require.NoError(r.t, svc.Register(ctx, rt))
	require.NoError(r.t, rt.Start(ctx))
	r.svc, r.rt = svc, rt
}

func (r *rig) stop() {
	if r.rt == nil {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	_ = r.rt.Stop(ctx)
	r.rt = nil
}

// call makes an API request as token; it answers the status and the
// decoded body.
func (r *rig) call(token, method, path string, body any) (int, map[string]any) {
	r.t.Helper()
	var rd io.Reader
	if body != nil {
		raw, err := json.Marshal(body)
		require.NoError(r.t, err)
		rd = bytes.NewReader(raw)
	}
	req, err := http.NewRequest(method, r.api.URL+path, rd)
	require.NoError(r.t, err)
	req.Header.Set("Authorization", "Bearer "+token)
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := http.DefaultClient.Do(req)
	require.NoError(r.t, err)
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	var out map[string]any
	_ = json.Unmarshal(raw, &out)
	return resp.StatusCode, out
}

// subscribe creates a subscription as token and returns its id and secret.
func (r *rig) subscribe(token string, req map[string]any) (string, string) {
	r.t.Helper()
	status, out := r.call(token, http.MethodPost, "/v1/subscriptions", req)
	require.Equal(r.t, http.StatusCreated, status, "%v", out)
	return out["id"].(string), out["secret"].(string)
}

// transition publishes an environment transition of team on EVT_LIFECYCLE.
func (r *rig) transition(team, env string, seq int, from, to string) string {
	r.t.Helper()
	id := env + "/transition/" + strconv.Itoa(seq)
	e, err := bus.NewEvent(id, "pave/lifecycle", events.TypeEnvironmentTransitioned, events.EnvironmentTransitioned{
		EnvironmentID: env, Team: team, Name: "web-" + env, Template: "web", Version: "1.0.0", Stage: "dev",
		From: from, To: to, Revision: 1, Seq: seq, At: time.Now().UTC()})
	require.NoError(r.t, err)
	e.SetSubject(env)
	require.NoError(r.t, r.bus.Publish(context.Background(), e))
	return id
}

// receiver is a subscriber: it verifies every delivery with the
// Standard Webhooks reference library (not Pave's code), dedupes on
// webhook-id as the spec tells receivers to, and records the events per
// subject in arrival order. It can be down (connection refused) or
// failing (503).
type receiver struct {
	t      testing.TB
	addr   string
	mu     sync.Mutex
	ln     net.Listener
	srv    *http.Server
	secret string
	fail   bool
	seen   map[string]int
	bad    []string
	order  map[string][]string
	bodies map[string][]byte
	hits   int
	// changed lists ids sent again with another body than the first
	// time: a receiver deduping on webhook-id would drop a change.
	changed []string
}

func newReceiver(t testing.TB) *receiver {
	rc := &receiver{t: t, seen: map[string]int{}, order: map[string][]string{}, bodies: map[string][]byte{}}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	rc.addr = ln.Addr().String()
	rc.serve(ln)
	t.Cleanup(rc.down)
	return rc
}

func (rc *receiver) url() string { return "http://" + rc.addr + "/hook" }

func (rc *receiver) serve(ln net.Listener) {
	rc.ln = ln
	rc.srv = &http.Server{Handler: http.HandlerFunc(rc.handle), ReadHeaderTimeout: 5 * time.Second}
	go func() { _ = rc.srv.Serve(ln) }()
}

// down closes the listener: connections are refused.
func (rc *receiver) down() {
	rc.mu.Lock()
	srv := rc.srv
	rc.srv = nil
	rc.mu.Unlock()
	if srv != nil {
		_ = srv.Close()
	}
}

// up listens again on the same address.
func (rc *receiver) up() {
	var ln net.Listener
	require.Eventually(rc.t, func() bool {
		var err error
		ln, err = net.Listen("tcp", rc.addr)
		return err == nil
	}, 10*time.Second, 50*time.Millisecond, "address %s not free again", rc.addr)
	rc.mu.Lock()
	defer rc.mu.Unlock()
	rc.serve(ln)
}

func (rc *receiver) setFail(v bool) { rc.mu.Lock(); rc.fail = v; rc.mu.Unlock() }

func (rc *receiver) setSecret(s string) { rc.mu.Lock(); rc.secret = s; rc.mu.Unlock() }

func (rc *receiver) handle(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	rc.mu.Lock()
	defer rc.mu.Unlock()
	rc.hits++
	if rc.fail {
		w.WriteHeader(http.StatusServiceUnavailable)
		return
	}
	wh, err := standardwebhooks.NewWebhook(rc.secret)
	if err == nil {
		err = wh.Verify(body, r.Header)
	}
	id := r.Header.Get("webhook-id")
	if err != nil {
		rc.bad = append(rc.bad, id+": "+err.Error())
		w.WriteHeader(http.StatusUnauthorized)
		return
	}
	rc.seen[id]++
	if rc.seen[id] > 1 && !bytes.Equal(rc.bodies[id], body) {
		rc.changed = append(rc.changed, id)
	}
	if rc.seen[id] == 1 {
		var e struct {
			Subject string `json:"subject"`
		}
		_ = json.Unmarshal(body, &e)
		if s := r.Header.Get("ce-subject"); s != "" {
			e.Subject = s
		}
		rc.order[e.Subject] = append(rc.order[e.Subject], id)
		rc.bodies[id] = body
	}
	w.WriteHeader(http.StatusNoContent)
}

// received is how many distinct events arrived, verified.
func (rc *receiver) received() int {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	return len(rc.seen)
}

func (rc *receiver) subjectOrder(subject string) []string {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	return append([]string(nil), rc.order[subject]...)
}

func (rc *receiver) invalid() []string {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	return append([]string(nil), rc.bad...)
}

func jsonOf(t testing.TB, v any) string {
	raw, err := json.Marshal(v)
	require.NoError(t, err)
	return string(raw)
}
