// Package apptest is lifecycle's test harness, shared by the tests of app
// (environments) and promotion: the real saga engine and environment
// store on an embedded JetStream server, the handlers called directly with
// the answers a test makes up for provisioning and the scheduler.
package apptest

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/cloudevents/sdk-go/v2/event"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/stretchr/testify/require"

	"github.com/pave-platform/pave/pkg/authn"
	"github.com/pave-platform/pave/pkg/bus"
	"github.com/pave-platform/pave/pkg/events"
	"github.com/pave-platform/pave/pkg/saga"
	"github.com/pave-platform/pave/pkg/schema"
	"github.com/pave-platform/pave/pkg/testkit"
	"github.com/pave-platform/pave/services/lifecycle/internal/adapters"
	"github.com/pave-platform/pave/services/lifecycle/internal/app"
	"github.com/pave-platform/pave/services/lifecycle/internal/domain"
)

// ShopYAML is a template of two resources: db first, then app, which
// depends on it. Only db is sanitized on teardown; app keeps its data.
const ShopYAML = `
name: shop
version: 1.0.0
description: A service and its database.
owner: platform
cost_class: service
parameters: {type: object}
resources:
  - {name: app, driver: http, class: small, depends_on: [db], sanitize: keep}
  - {name: db, driver: postgres, class: small, sanitize: drop}
lifecycle: {stages: [dev]}
`

// Alice is a member of payments.
var Alice = authn.Principal{ID: "alice", Kind: "user", Teams: []string{"payments"}}

// ShopCatalog is a catalog of ShopYAML.
func ShopCatalog(t *testing.T) *domain.Catalog {
	t.Helper()
	tpl, err := domain.ParseTemplate("shop.yaml", []byte(ShopYAML))
	require.NoError(t, err)
	cat, err := domain.NewCatalog(tpl)
	require.NoError(t, err)
	return cat
}

// At is a fixed time for events a test makes up.
var At = time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC)

// Harness is the lifecycle service on an embedded JetStream server: the
// real saga engine and environment store, its handlers called directly
// with the answers a test makes up for provisioning and the scheduler.
type Harness struct {
	JS   jetstream.JetStream
	Bus  *bus.Bus
	Envs *adapters.KVEnvironments
	Eng  *saga.Engine
	Svc  *app.Service
	ids  atomic.Int64
}

// New runs the sagas without the grant-login steps, which the tests of
// other steps need not answer; NewWith takes any policy.
func New(t *testing.T) *Harness {
	t.Helper()
	p := app.DefaultStepPolicy()
	p.GrantCredentials = false
	return NewWith(t, p)
}

// NewWith runs the sagas with policy p.
func NewWith(t *testing.T, p app.StepPolicy) *Harness {
	t.Helper()
	ctx := context.Background()
	reg, err := schema.Default()
	require.NoError(t, err)
	b, err := bus.New(testkit.NATS(t).Conn(t), reg, schema.SubjectFor)
	require.NoError(t, err)
	js := b.JetStream()
	opts := bus.DefaultStreamOptions()
	streams := bus.CoreStreams(opts)
	for _, s := range []string{"lifecycle", "provisioning", "scheduler", "cost"} {
		streams = append(streams, bus.ServiceStreams(s, opts)...)
	}
	require.NoError(t, bus.EnsureStreams(ctx, js, streams...))
	envs, err := adapters.NewKVEnvironments(ctx, js, 1)
	require.NoError(t, err)
	cat := ShopCatalog(t)
	eng, err := saga.NewEngine(ctx, js, b, "LIFECYCLE_SAGAS", app.Definitions(cat, p))
	require.NoError(t, err)
	return &Harness{JS: js, Bus: b, Envs: envs, Eng: eng, Svc: app.NewService(envs, eng, cat, "platform", b, slog.New(slog.DiscardHandler))}
}

func (h *Harness) Create(t *testing.T) domain.Environment {
	t.Helper()
	env, err := h.Svc.Create(context.Background(), Alice, domain.CreateRequest{Team: "payments", Name: "checkout", Template: "shop"})
	require.NoError(t, err)
	return env
}

func (h *Harness) Env(t *testing.T, id string) domain.Environment {
	t.Helper()
	env, err := h.Svc.Get(context.Background(), Alice, id)
	require.NoError(t, err)
	return env
}

func (h *Harness) Saga(t *testing.T, id string) saga.Instance {
	t.Helper()
	inst, err := h.Eng.Get(context.Background(), id)
	require.NoError(t, err)
	return inst
}

func (h *Harness) Reconcile(t *testing.T) {
	t.Helper()
	require.NoError(t, h.Svc.Reconcile(context.Background()))
}

// Commands lists the commands published on stream, oldest first.
func (h *Harness) Commands(t *testing.T, stream string) []event.Event {
	t.Helper()
	ctx := context.Background()
	st, err := h.JS.Stream(ctx, stream)
	require.NoError(t, err)
	info, err := st.Info(ctx)
	require.NoError(t, err)
	var out []event.Event
	for seq := info.State.FirstSeq; seq <= info.State.LastSeq && info.State.Msgs > 0; seq++ {
		m, err := st.GetMsg(ctx, seq)
		require.NoError(t, err)
		e, err := bus.Decode(m.Header, m.Data)
		require.NoError(t, err)
		out = append(out, e)
	}
	return out
}

// LastSchedulerCommand is the newest command for the scheduler, decoded
// into v; it returns the command's type.
func (h *Harness) LastSchedulerCommand(t *testing.T, v any) string {
	t.Helper()
	cmds := h.Commands(t, "CMD_SCHEDULER")
	require.NotEmpty(t, cmds, "no command for the scheduler")
	last := cmds[len(cmds)-1]
	require.NoError(t, json.Unmarshal(last.Data(), v))
	return last.Type()
}

func (h *Harness) Event(t *testing.T, typ string, data any) event.Event {
	t.Helper()
	e, err := bus.NewEvent(fmt.Sprintf("test-%d", h.ids.Add(1)), "pave/test", typ, data)
	require.NoError(t, err)
	return e
}

// Scheduler hands the scheduler's event to the admission handler.
func (h *Harness) Scheduler(t *testing.T, typ string, data any) error {
	t.Helper()
	return h.Svc.HandleAdmission(h.Eng)(context.Background(), h.Event(t, typ, data))
}

// Provisioning answers the provisioning command of a saga's step for
// resource with an event of type typ.
func (h *Harness) Provisioning(t *testing.T, typ, sagaID, step, resource string) {
	t.Helper()
	envID, _, _ := strings.Cut(sagaID, ".")
	data := map[string]any{"saga": Ref(sagaID, step, 1, false), "environment_id": envID,
		"resource_id": domain.ResourceID(envID, resource), "outputs": map[string]string{}}
	require.NoError(t, h.Svc.HandleProvisioningResult(h.Eng)(context.Background(), h.Event(t, typ, data)))
}

// Credentials answers the credentials command of a saga's step with an
// Event of type typ (synced, revoked or failed).
func (h *Harness) Credentials(t *testing.T, typ, sagaID, step string, compensation bool) {
	t.Helper()
	envID, _, _ := strings.Cut(sagaID, ".")
	data := map[string]any{"saga": Ref(sagaID, step, 1, compensation), "environment_id": envID}
	switch typ {
	case events.TypeCredentialsSynced:
		data["issued"] = 0
	case events.TypeCredentialsRevoked:
		data["revoked"] = 0
	default:
		data["action"], data["reason"], data["retryable"] = "sync", "driver postgres is not configured", false
	}
	require.NoError(t, h.Svc.HandleCredentialsResult(h.Eng)(context.Background(), h.Event(t, typ, data)))
}

// Answer hands provisioning's event of type typ for resource to the
// Saga step r names (a forward or an undo command); reason is set on
// failures, which are final.
func (h *Harness) Answer(t *testing.T, typ string, r *events.Saga, resource string) {
	t.Helper()
	envID, _, _ := strings.Cut(r.ID, ".")
	data := map[string]any{"saga": r, "environment_id": envID,
		"resource_id": domain.ResourceID(envID, resource), "outputs": map[string]string{}}
	if typ == events.TypeResourceFailed {
		data["reason"], data["retryable"] = "refused by the test", false
	}
	require.NoError(t, h.Svc.HandleProvisioningResult(h.Eng)(context.Background(), h.Event(t, typ, data)))
}

// Ref is the saga reference of a step's command.
func Ref(sagaID, step string, attempt int, compensation bool) *events.Saga {
	return &events.Saga{ID: sagaID, Step: step, Attempt: attempt, Compensation: compensation}
}

// StepNames are d's steps' names, in order.
func StepNames(d saga.Definition) []string {
	var names []string
	for _, s := range d.Steps {
		names = append(names, s.Name)
	}
	return names
}
