package provisioning_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/nats-io/nats.go"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/fx"
	"go.uber.org/fx/fxtest"
	"go.uber.org/goleak"

	"github.com/pave-platform/pave/pkg/authn"
	"github.com/pave-platform/pave/pkg/bus"
	"github.com/pave-platform/pave/pkg/events"
	"github.com/pave-platform/pave/pkg/platformfx"
	"github.com/pave-platform/pave/pkg/rpc"
	"github.com/pave-platform/pave/pkg/testkit"
	"github.com/pave-platform/pave/services/provisioning"
)

// go-redis retries a failed dial in a goroutine that notices a closed pool
// only after its one-second sleep.
func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m, goleak.IgnoreAnyFunction("github.com/redis/go-redis/v9/internal/pool.(*ConnPool).tryDial"))
}

// service is the provisioning module running on the platform, as `pave
// dev` runs it, with a tap on every event it publishes.
type service struct {
	bus *bus.Bus
	nc  *nats.Conn
	mu  sync.Mutex
	raw []*nats.Msg
}

func start(t *testing.T, env map[string]string) *service {
	t.Helper()
	ns := testkit.NATS(t)
	t.Setenv("PAVE_NATS_URL", ns.URL())
	t.Setenv("PAVE_DATA_DIR", t.TempDir())
	// PAVE_TEST_LOG_LEVEL=debug shows the service's logs of a failing run.
	level := os.Getenv("PAVE_TEST_LOG_LEVEL")
	if level == "" {
		level = "error"
	}
	t.Setenv("PAVE_LOG_LEVEL", level)
	for k, v := range env {
		t.Setenv(k, v)
	}
	s := &service{nc: ns.Conn(t)}
	sub, err := s.nc.Subscribe("pave.evt.provisioning.>", func(m *nats.Msg) {
		s.mu.Lock()
		defer s.mu.Unlock()
		s.raw = append(s.raw, m)
	})
	require.NoError(t, err)
	t.Cleanup(func() { _ = sub.Unsubscribe() })
	require.NoError(t, s.nc.Flush())

	app := fxtest.New(t, platformfx.Module, provisioning.Module, fx.Populate(&s.bus), fx.NopLogger)
	app.RequireStart()
	t.Cleanup(app.RequireStop)
	return s
}

func (s *service) send(t *testing.T, id, eventType string, data any) {
	t.Helper()
	e, err := bus.NewEvent(id, "pave/lifecycle", eventType, data)
	require.NoError(t, err)
	require.NoError(t, s.bus.Publish(context.Background(), e))
}

// await returns the data of the first event of eventType whose
// CloudEvents subject is subject.
func await[T any](t *testing.T, s *service, eventType, subject string) T {
	t.Helper()
	var got T
	require.Eventually(t, func() bool {
		s.mu.Lock()
		defer s.mu.Unlock()
		for _, m := range s.raw {
			if m.Header.Get("ce-type") == eventType && m.Header.Get("ce-subject") == subject {
				require.NoError(t, json.Unmarshal(m.Data, &got))
				return true
			}
		}
		return false
	}, 20*time.Second, 10*time.Millisecond, "no %s for %s", eventType, subject)
	return got
}

func credentials(t *testing.T, s *service, teams []string, environmentID, resourceID string) rpc.Reply {
	t.Helper()
	body, err := json.Marshal(provisioning.CredentialsRequest{EnvironmentID: environmentID, ResourceID: resourceID})
	require.NoError(t, err)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	rep, err := rpc.Call(ctx, s.nc, provisioning.SubjectCredentials, rpc.Request{
		Principal: authn.Principal{ID: "u-1", Kind: "user", Name: "dev", Teams: teams}, Body: body,
	})
	require.NoError(t, err)
	return rep
}

func provisionCommand(id, driver string) events.ProvisionCommand {
	return events.ProvisionCommand{
		Saga:          events.Saga{ID: "saga-" + id, Step: "provision-" + id, Attempt: 1},
		EnvironmentID: "env1", Team: "payments",
		Resource: events.ResourceSpec{ID: id, Name: "db", Driver: driver, Class: "small"},
	}
}

func TestProvisionThroughJetStreamEndToEnd(t *testing.T) {
	admin := testkit.Postgres(t).URL()
	script := filepath.Join(t.TempDir(), "leaky-provisioner.sh")
	require.NoError(t, os.WriteFile(script, []byte(leakyProvisioner), 0o755))
	s := start(t, map[string]string{
		"PAVE_PROVISIONING_POSTGRES_URL":   admin,
		"PAVE_PROVISIONING_EXEC_COMMAND":   script,
		"PAVE_PROVISIONING_SWEEP_INTERVAL": "1s",
		"PAVE_PROVISIONING_SWEEP_REMOVE":   "true",
	})
	ctx := context.Background()

	cmd := provisionCommand("env1-db", "postgres")
	s.send(t, "saga-env1-db/provision/1", events.TypeProvisionCommand, cmd)
	done := await[events.ResourceProvisioned](t, s, events.TypeResourceProvisioned, "env1-db")
	assert.Equal(t, cmd.Saga, done.Saga)
	assert.True(t, done.HasCredentials)
	assert.Equal(t, "pave_env1_db", done.Outputs["database"])

	rep := credentials(t, s, []string{"payments"}, "env1", "env1-db")
	require.Equal(t, 200, rep.Status, "%+v", rep.Problem)
	var login provisioning.CredentialsReply
	require.NoError(t, json.Unmarshal(rep.Body, &login))
	conn, err := pgx.Connect(ctx, login.URL)
	require.NoError(t, err, "the login works")
	_, err = conn.Exec(ctx, "CREATE TABLE orders (id int)")
	require.NoError(t, err)
	require.NoError(t, conn.Close(ctx))
	assert.Equal(t, 404, credentials(t, s, []string{"marketing"}, "env1", "env1-db").Status, "another team gets nothing")
	assert.Equal(t, 404, credentials(t, s, []string{"payments"}, "env2", "env1-db").Status, "another environment neither")

	s.send(t, "saga-env1-vm/provision/1", events.TypeProvisionCommand, provisionCommand("env1-vm", "exec"))
	vm := await[events.ResourceProvisioned](t, s, events.TypeResourceProvisioned, "env1-vm")
	assert.Equal(t, map[string]string{"host": "vm.local"}, vm.Outputs, "secret-looking outputs are dropped")
	rep = credentials(t, s, []string{"payments"}, "env1", "env1-vm")
	require.Equal(t, 200, rep.Status)
	assert.Contains(t, string(rep.Body), "exec-secret", "the login is kept, sealed, for the credentials request")

	stray, err := pgx.Connect(ctx, admin)
	require.NoError(t, err)
	defer stray.Close(ctx)
	_, err = stray.Exec(ctx, "CREATE DATABASE pave_made_by_hand")
	require.NoError(t, err)
	orphan := await[events.ResourceOrphaned](t, s, events.TypeResourceOrphaned, "database:pave_made_by_hand")
	assert.True(t, orphan.Removed, "the sweeper removes what nobody recorded")

	s.send(t, "saga-env1-db/deprovision/1", events.TypeDeprovisionCommand, events.DeprovisionCommand{
		Saga:          events.Saga{ID: "saga-env1-db", Step: "deprovision", Attempt: 1, Compensation: true},
		EnvironmentID: "env1", ResourceID: "env1-db", Driver: "postgres",
	})
	gone := await[events.ResourceDeprovisioned](t, s, events.TypeResourceDeprovisioned, "env1-db")
	assert.True(t, gone.Existed)
	assert.True(t, gone.Saga.Compensation)
	assert.Equal(t, 404, credentials(t, s, []string{"payments"}, "env1", "env1-db").Status)
	_, err = pgx.Connect(ctx, login.URL)
	assert.Error(t, err, "the role is gone")

	s.mu.Lock()
	defer s.mu.Unlock()
	require.NotEmpty(t, s.raw)
	for _, m := range s.raw {
		raw := fmt.Sprint(m.Header) + string(m.Data)
		assert.NotContains(t, raw, login.Password, "%s carries the password", m.Header.Get("ce-type"))
		assert.NotContains(t, raw, "exec-secret", "%s carries the password", m.Header.Get("ce-type"))
		assert.NotContains(t, raw, "password", "%s", m.Header.Get("ce-type"))
	}
	for _, m := range s.raw {
		if m.Header.Get("ce-subject") == "database:pave_made_by_hand" {
			continue
		}
		assert.NotEqual(t, events.TypeResourceOrphaned, m.Header.Get("ce-type"),
			"a resource being provisioned is never taken for an orphan: %s", m.Data)
	}
}

// leakyProvisioner is an exec provisioner that puts its secret in every
// place it can: outputs, a DSN output, and the credentials.
const leakyProvisioner = `#!/bin/sh
cat >/dev/null
echo '{"outputs":{"host":"vm.local","root_password":"exec-secret","dsn":"ssh://root:exec-secret@vm.local"},"credentials":{"username":"root","password":"exec-secret","url":"ssh://vm.local"}}'
`

func TestModuleStartsWithoutTargets(t *testing.T) {
	s := start(t, nil)
	s.send(t, "saga-a/provision/1", events.TypeProvisionCommand, provisionCommand("env1-db", "postgres"))
	failed := await[events.ResourceFailed](t, s, events.TypeResourceFailed, "env1-db")
	assert.Equal(t, "driver postgres is not configured (set PAVE_PROVISIONING_POSTGRES_URL)", failed.Reason)
	assert.False(t, failed.Retryable)

	s.send(t, "saga-a/deprovision/1", events.TypeDeprovisionCommand, events.DeprovisionCommand{
		Saga:          events.Saga{ID: "saga-a", Step: "deprovision", Attempt: 1, Compensation: true},
		EnvironmentID: "env1", ResourceID: "env1-db", Driver: "postgres",
	})
	gone := await[events.ResourceDeprovisioned](t, s, events.TypeResourceDeprovisioned, "env1-db")
	assert.False(t, gone.Existed, "compensating what never ran needs no driver")

	s.send(t, "saga-b/provision/1", events.TypeProvisionCommand, provisionCommand("env1-events", "nats"))
	streamReady := await[events.ResourceProvisioned](t, s, events.TypeResourceProvisioned, "env1-events")
	assert.Equal(t, "pave_env1_events", streamReady.Outputs["stream"], "the nats driver uses the platform's NATS")
}

func TestTransientFailuresEndInFailedAfterTheLastDelivery(t *testing.T) {
	// A port freed on 127.0.0.2, where the test's own servers (on
	// 127.0.0.1) cannot take it back in the meantime: connecting to it is
	// refused.
	l, err := net.Listen("tcp", "127.0.0.2:0")
	require.NoError(t, err)
	closed := l.Addr().String()
	require.NoError(t, l.Close())
	s := start(t, map[string]string{"PAVE_PROVISIONING_REDIS_URL": "redis://" + closed + "/0"})

	s.send(t, "saga-c/provision/1", events.TypeProvisionCommand, provisionCommand("env1-cache", "redis"))
	failed := await[events.ResourceFailed](t, s, events.TypeResourceFailed, "env1-cache")
	assert.True(t, failed.Retryable, "the cause was transient")
	assert.True(t, strings.Contains(failed.Reason, "connection refused"), failed.Reason)
}

// A provision command that waited in CMD_PROVISIONING longer than the
// tombstone retention (its event's time 31 days back) is answered failed
// and creates nothing: the tombstone that would have refused it may be
// gone. A fresh command for the same resource is made.
func TestAProvisionOlderThanTheTombstoneRetentionIsRefused(t *testing.T) {
	admin := testkit.Postgres(t).URL()
	s := start(t, map[string]string{"PAVE_PROVISIONING_POSTGRES_URL": admin, "PAVE_PROVISIONING_SWEEP_INTERVAL": "0"})
	e, err := bus.NewEvent("saga-old/provision/1", "pave/lifecycle", events.TypeProvisionCommand, provisionCommand("env1-db", "postgres"))
	require.NoError(t, err)
	e.SetTime(time.Now().Add(-31 * 24 * time.Hour))
	require.NoError(t, s.bus.Publish(context.Background(), e))
	failed := await[events.ResourceFailed](t, s, events.TypeResourceFailed, "env1-db")
	assert.False(t, failed.Retryable)
	assert.Contains(t, failed.Reason, "longer ago than the tombstone retention")

	s.send(t, "saga-new/provision/1", events.TypeProvisionCommand, provisionCommand("env1-db", "postgres"))
	done := await[events.ResourceProvisioned](t, s, events.TypeResourceProvisioned, "env1-db")
	assert.Equal(t, "pave_env1_db", done.Outputs["database"], "a command issued now is made")
}
