package app_test

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"sync"
	"testing"

	"github.com/cloudevents/sdk-go/v2/event"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/stretchr/testify/require"

	"github.com/pave-platform/pave/pkg/events"
	"github.com/pave-platform/pave/pkg/schema"
	"github.com/pave-platform/pave/pkg/testkit"
	"github.com/pave-platform/pave/services/provisioning/internal/adapters"
	"github.com/pave-platform/pave/services/provisioning/internal/app"
	"github.com/pave-platform/pave/services/provisioning/internal/domain"
)

// recorder is a Publisher that checks every event against its schema,
// as the bus does, and keeps it.
type recorder struct {
	mu     sync.Mutex
	reg    *schema.Registry
	events []event.Event
}

func (r *recorder) Publish(_ context.Context, e event.Event) error {
	if err := r.reg.Validate(e.Type(), e.Data()); err != nil {
		return err
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	r.events = append(r.events, e)
	return nil
}

func (r *recorder) all() []event.Event {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]event.Event(nil), r.events...)
}

func (r *recorder) last(t *testing.T) event.Event {
	t.Helper()
	all := r.all()
	require.NotEmpty(t, all, "no event published")
	return all[len(all)-1]
}

// fixture is the app over a real ledger and a real PostgreSQL driver.
type fixture struct {
	js      jetstream.JetStream
	ledger  *adapters.KVLedger
	pg      *adapters.Postgres
	admin   string
	pub     *recorder
	deps    app.Deps
	drivers *app.Drivers
}

func newFixture(t *testing.T) *fixture {
	t.Helper()
	ctx := context.Background()
	js := testkit.NATS(t).JetStream(t)
	ledger, err := adapters.NewKVLedger(ctx, js, 1)
	require.NoError(t, err)
	admin := testkit.Postgres(t).URL()
	pg, err := adapters.NewPostgres(admin)
	require.NoError(t, err)
	key := make([]byte, adapters.KeySize)
	_, _ = rand.Read(key)
	sealer, err := adapters.NewEnvelope(key)
	require.NoError(t, err)
	reg, err := schema.Default()
	require.NoError(t, err)
	f := &fixture{js: js, ledger: ledger, pg: pg, admin: admin, pub: &recorder{reg: reg},
		drivers: app.NewDrivers().Add("postgres", pg).Missing("redis", "PAVE_PROVISIONING_REDIS_URL")}
	f.deps = app.Deps{Ledger: ledger, Drivers: f.drivers, Sealer: sealer, Publisher: f.pub, MaxDeliver: 5}
	return f
}

func (f *fixture) provision(t *testing.T, cmdID, id string, params map[string]any) error {
	t.Helper()
	return app.NewProvision(f.deps).Handle(context.Background(), cmdID, events.ProvisionCommand{
		Saga: saga(cmdID), EnvironmentID: "env1", Team: "payments",
		Resource: events.ResourceSpec{ID: id, Name: "db", Driver: "postgres", Class: "small", Parameters: params},
	})
}

func (f *fixture) deprovision(t *testing.T, cmdID, id string) error {
	t.Helper()
	return app.NewDeprovision(f.deps).Handle(context.Background(), cmdID, events.DeprovisionCommand{
		Saga: saga(cmdID), EnvironmentID: "env1", ResourceID: id, Driver: "postgres",
	})
}

// inventory is what really exists on the PostgreSQL server.
func (f *fixture) inventory(t *testing.T) []string {
	t.Helper()
	inv, err := f.pg.Inventory(context.Background())
	require.NoError(t, err)
	return inv
}

func saga(step string) events.Saga {
	return events.Saga{ID: "saga-1", Step: step, Attempt: 1, Compensation: false}
}

func data[T any](t *testing.T, e event.Event) T {
	t.Helper()
	var v T
	require.NoError(t, json.Unmarshal(e.Data(), &v))
	return v
}

var _ app.Driver = hookDriver{}

// hookDriver runs a hook before the real driver provisions: a window
// for a race.
type hookDriver struct {
	app.Driver
	before func()
}

func (h hookDriver) Provision(ctx context.Context, r domain.Resource) (domain.Result, error) {
	h.before()
	return h.Driver.Provision(ctx, r)
}
