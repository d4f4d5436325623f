package ports_test

import (
	"context"
	"encoding/json"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/cloudevents/sdk-go/v2/event"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"

	"github.com/pave-platform/pave/pkg/authn"
	"github.com/pave-platform/pave/pkg/bus"
	"github.com/pave-platform/pave/pkg/events"
	"github.com/pave-platform/pave/pkg/rpc"
	"github.com/pave-platform/pave/pkg/service"
	"github.com/pave-platform/pave/pkg/testkit"
	"github.com/pave-platform/pave/services/provisioning/internal/app"
	"github.com/pave-platform/pave/services/provisioning/internal/domain"
	"github.com/pave-platform/pave/services/provisioning/internal/ports"
)

func TestCommandsRefuseWhatTheyCannotHandle(t *testing.T) {
	c := ports.Commands{}
	unknown, err := bus.NewEvent("1", "test", "dev.pave.cmd.provisioning.resize.v1", map[string]any{})
	require.NoError(t, err)
	assert.True(t, bus.IsPermanent(c.Handle(context.Background(), unknown)), "an unknown type is dead-lettered")

	bad, err := bus.NewEvent("2", "test", events.TypeProvisionCommand, map[string]any{"saga": "not an object"})
	require.NoError(t, err)
	assert.True(t, bus.IsPermanent(c.Handle(context.Background(), bad)), "data that does not decode is dead-lettered")
}

type logins map[string]app.Login

func (l logins) Get(_ context.Context, environmentID, resourceID string) (app.Login, error) {
	if resourceID == "broken" {
		return app.Login{}, errors.New("ledger unavailable")
	}
	login, ok := l[environmentID+"/"+resourceID]
	if !ok {
		return app.Login{}, app.ErrNoCredentials
	}
	return login, nil
}

func TestCredentialsAnswerOnlyForTheResourcesTeam(t *testing.T) {
	nc := testkit.NATS(t).Conn(t)
	q := logins{"env1/env1-db": {Team: "payments", Credentials: domain.Credentials{Username: "pave_env1_db", Password: "pw", URL: "postgres://x"}}}
	svc, err := ports.ServeCredentials(nc, q, testLogger(t))
	require.NoError(t, err)
	t.Cleanup(func() { _ = svc.Stop() })

	member := authn.Principal{ID: "u1", Teams: []string{"payments"}}
	body := func(env, id string) json.RawMessage {
		raw, _ := json.Marshal(ports.CredentialsRequest{EnvironmentID: env, ResourceID: id})
		return raw
	}
	tests := []struct {
		name string
		give rpc.Request
		want int
	}{
		{"member", rpc.Request{Principal: member, Body: body("env1", "env1-db")}, 200},
		{"path values", rpc.Request{Principal: member, Path: map[string]string{"environment_id": "env1", "resource_id": "env1-db"}}, 200},
		{"platform admin", rpc.Request{Principal: authn.Principal{ID: "a", Roles: []string{authn.RolePlatformAdmin}}, Body: body("env1", "env1-db")}, 200},
		{"other team", rpc.Request{Principal: authn.Principal{ID: "u2", Teams: []string{"ads"}}, Body: body("env1", "env1-db")}, 404},
		{"other environment", rpc.Request{Principal: member, Body: body("env2", "env1-db")}, 404},
		{"unknown", rpc.Request{Principal: member, Body: body("env1", "nope")}, 404},
		{"incomplete", rpc.Request{Principal: member, Body: body("env1", "")}, 400},
		{"not json", rpc.Request{Principal: member, Body: json.RawMessage(`"x"`)}, 400},
		{"store down", rpc.Request{Principal: member, Body: body("env1", "broken")}, 500},
	}
	for _, tt := range tests {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		rep, err := rpc.Call(ctx, nc, ports.SubjectCredentials, tt.give)
		cancel()
		require.NoError(t, err, tt.name)
		assert.Equal(t, tt.want, rep.Status, tt.name)
		if tt.want != 200 {
			assert.NotContains(t, string(rep.Body), "pw", tt.name)
			continue
		}
		var got ports.CredentialsReply
		require.NoError(t, json.Unmarshal(rep.Body, &got), tt.name)
		assert.Equal(t, ports.CredentialsReply{Username: "pave_env1_db", Password: "pw", URL: "postgres://x"}, got, tt.name)
	}
}

func TestSweeperRunsOnItsIntervalAndStops(t *testing.T) {
	defer goleak.VerifyNone(t, goleak.IgnoreCurrent())
	pub := &published{}
	d := &strayDriver{}
	sweep := &app.Sweep{Ledger: emptyLedger{}, Drivers: app.NewDrivers().Add("exec", d), Publisher: pub, Remove: true}
	s := service.NewRuntime(nil, nil, testLogger(t))
	s.Every(ports.Sweeper(sweep, 10*time.Millisecond, testLogger(t)))
	require.NoError(t, s.Start(context.Background()))
	require.Eventually(t, func() bool { return pub.count() >= 2 }, 5*time.Second, 5*time.Millisecond, "sweeps repeat")
	require.NoError(t, s.Stop(context.Background()))
	n := pub.count()
	assert.GreaterOrEqual(t, d.removed(), 2)
	require.NoError(t, s.Stop(context.Background()), "stopping twice is fine")
	assert.Equal(t, n, pub.count(), "nothing runs after stop")
}

type emptyLedger struct{}

func (emptyLedger) List(context.Context) ([]domain.Record, error) { return nil, nil }

type published struct {
	mu sync.Mutex
	n  int
}

func (p *published) Publish(context.Context, event.Event) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.n++
	return nil
}

func (p *published) count() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.n
}

// strayDriver always has one stray object, however often it is removed.
type strayDriver struct {
	mu      sync.Mutex
	removes int
}

func (*strayDriver) Planned(string) []string { return nil }
func (*strayDriver) Provision(context.Context, domain.Resource) (domain.Result, error) {
	return domain.Result{}, nil
}
func (*strayDriver) Update(context.Context, domain.Resource) (domain.Result, error) {
	return domain.Result{}, nil
}
func (*strayDriver) Sanitize(context.Context, string) error            { return nil }
func (*strayDriver) Deprovision(context.Context, string) (bool, error) { return false, nil }
func (*strayDriver) Inventory(context.Context) ([]string, error) {
	return []string{"exec:pave_stray"}, nil
}
func (d *strayDriver) Remove(context.Context, string) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.removes++
	return nil
}

func (d *strayDriver) removed() int {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.removes
}
