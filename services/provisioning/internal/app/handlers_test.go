package app_test

import (
	"context"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/pave-platform/pave/pkg/events"
	"github.com/pave-platform/pave/services/provisioning/internal/app"
	"github.com/pave-platform/pave/services/provisioning/internal/domain"
)

func TestProvisionDeliveredTwiceMakesOneResource(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	require.NoError(t, f.provision(t, "cmd-1", "env1-db", nil))
	first := f.pub.last(t)
	require.NoError(t, f.provision(t, "cmd-1", "env1-db", nil), "the redelivery")
	second := f.pub.last(t)

	assert.Equal(t, []string{"database:pave_env1_db", "role:pave_env1_db"}, f.inventory(t), "one resource")
	assert.Equal(t, "cmd-1/result", first.ID())
	assert.Equal(t, first.ID(), second.ID(), "the stream deduplicates the second answer")
	assert.JSONEq(t, string(first.Data()), string(second.Data()), "and it is the same answer")
	got := data[events.ResourceProvisioned](t, first)
	assert.Equal(t, events.TypeResourceProvisioned, first.Type())
	assert.Equal(t, saga("cmd-1"), got.Saga, "the saga correlation is echoed")
	assert.True(t, got.HasCredentials)
	assert.ElementsMatch(t, []string{"database:pave_env1_db", "role:pave_env1_db"}, got.ExternalIDs)

	require.NoError(t, f.provision(t, "cmd-2", "env1-db", nil), "another command for the same resource")
	assert.Equal(t, events.TypeResourceProvisioned, f.pub.last(t).Type())
	assert.Len(t, f.inventory(t), 2, "still one resource")
}

func TestDeprovisionTwiceIsANoOp(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	require.NoError(t, f.provision(t, "cmd-1", "env1-db", nil))
	require.NoError(t, f.deprovision(t, "cmd-2", "env1-db"))
	assert.True(t, data[events.ResourceDeprovisioned](t, f.pub.last(t)).Existed)
	assert.Empty(t, f.inventory(t))

	require.NoError(t, f.deprovision(t, "cmd-2", "env1-db"), "the redelivery")
	assert.True(t, data[events.ResourceDeprovisioned](t, f.pub.last(t)).Existed, "answers as the first delivery did")
	require.NoError(t, f.deprovision(t, "cmd-3", "env1-db"), "a second deprovision")
	assert.False(t, data[events.ResourceDeprovisioned](t, f.pub.last(t)).Existed, "says there was nothing")
}

func TestDeprovisionBeforeProvisionCreatesNothing(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	require.NoError(t, f.deprovision(t, "compensate-1", "env1-db"), "null compensation")
	got := data[events.ResourceDeprovisioned](t, f.pub.last(t))
	assert.False(t, got.Existed)
	rec, err := f.ledger.Get(context.Background(), "env1-db")
	require.NoError(t, err)
	assert.Equal(t, domain.StateDeleted, rec.State, "a tombstone is recorded")

	require.NoError(t, f.provision(t, "late-1", "env1-db", nil), "the hanging provision")
	e := f.pub.last(t)
	require.Equal(t, events.TypeResourceFailed, e.Type())
	failed := data[events.ResourceFailed](t, e)
	assert.False(t, failed.Retryable)
	assert.Equal(t, events.ActionProvision, failed.Action)
	assert.Contains(t, failed.Reason, "after its deprovision creates nothing")
	assert.Empty(t, f.inventory(t), "nothing was created")
}

func TestProvisionRacingItsDeprovisionLeavesNothing(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	racer := hookDriver{Driver: f.pg, before: func() {
		require.NoError(t, f.deprovision(t, "compensate-1", "env1-db"))
	}}
	f.drivers.Add("postgres", racer)
	require.NoError(t, f.provision(t, "cmd-1", "env1-db", nil))

	all := f.pub.all()
	require.Len(t, all, 2)
	assert.Equal(t, events.TypeResourceDeprovisioned, all[0].Type())
	assert.Equal(t, events.TypeResourceFailed, all[1].Type())
	assert.Contains(t, data[events.ResourceFailed](t, all[1]).Reason, "deprovisioned while it was being provisioned")
	assert.Empty(t, f.inventory(t), "what the provision made was deleted again")
}

func TestFailuresAreAnsweredOnceAndNeverRetriedWhenPermanent(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	ctx := context.Background()
	err := app.NewProvision(f.deps).Handle(ctx, "cmd-r", events.ProvisionCommand{
		Saga: saga("cache"), EnvironmentID: "env1", Team: "payments",
		Resource: events.ResourceSpec{ID: "env1-cache", Name: "cache", Driver: "redis"},
	})
	require.NoError(t, err, "answered, not retried")
	failed := data[events.ResourceFailed](t, f.pub.last(t))
	assert.Equal(t, "driver redis is not configured (set PAVE_PROVISIONING_REDIS_URL)", failed.Reason)
	assert.False(t, failed.Retryable)
	_, err = f.ledger.Get(ctx, "env1-cache")
	assert.ErrorIs(t, err, app.ErrNotFound, "nothing recorded for a driver that is not there")

	require.NoError(t, f.provision(t, "cmd-p", "env1-db", map[string]any{"superuser": true}))
	failed = data[events.ResourceFailed](t, f.pub.last(t))
	assert.Contains(t, failed.Reason, `unknown parameter "superuser"`)
	assert.False(t, failed.Retryable)
	require.NoError(t, f.provision(t, "cmd-p2", "env1-db", nil), "a corrected attempt need not wait for a lease")
	assert.Equal(t, events.TypeResourceProvisioned, f.pub.last(t).Type())
}

func TestTransientErrorsGoBackToTheBus(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	down, err := newUnreachablePostgres()
	require.NoError(t, err)
	f.drivers.Add("postgres", down)
	err = f.provision(t, "cmd-1", "env1-db", nil)
	require.Error(t, err, "the bus redelivers with backoff")
	assert.False(t, domain.IsPermanent(err))
	assert.Empty(t, f.pub.all(), "no answer yet")
	rec, err := f.ledger.Get(context.Background(), "env1-db")
	require.NoError(t, err)
	assert.ElementsMatch(t, []string{"database:pave_env1_db", "role:pave_env1_db"}, rec.ExternalIDs,
		"the names were recorded before the driver was called")
}

func TestUpdateSanitizeAndCredentials(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	ctx := context.Background()
	require.NoError(t, f.provision(t, "cmd-1", "env1-db", nil))
	creds := app.Credentials{Ledger: f.ledger, Sealer: f.deps.Sealer}
	login, err := creds.Get(ctx, "env1", "env1-db")
	require.NoError(t, err)
	assert.Equal(t, "payments", login.Team)
	conn, err := pgx.Connect(ctx, login.Credentials.URL)
	require.NoError(t, err)
	_, err = conn.Exec(ctx, "CREATE TABLE orders (id int)")
	require.NoError(t, err)
	require.NoError(t, conn.Close(ctx))
	_, err = creds.Get(ctx, "env2", "env1-db")
	assert.ErrorIs(t, err, app.ErrNoCredentials, "another environment gets nothing")

	err = app.NewUpdate(f.deps).Handle(ctx, "cmd-2", events.UpdateCommand{
		Saga: saga("update"), EnvironmentID: "env1", Team: "payments",
		Resource: events.ResourceSpec{ID: "env1-db", Name: "db", Driver: "postgres", Class: "large",
			Parameters: map[string]any{"connection_limit": float64(5)}},
	})
	require.NoError(t, err)
	updated := data[events.ResourceUpdated](t, f.pub.last(t))
	assert.Equal(t, "pave_env1_db", updated.Outputs["database"])

	sanitize := func(cmdID, id string) {
		require.NoError(t, app.NewSanitize(f.deps).Handle(ctx, cmdID, events.SanitizeCommand{
			Saga: saga("sanitize"), EnvironmentID: "env1", ResourceID: id, Driver: "postgres"}))
		assert.Equal(t, events.TypeResourceSanitized, f.pub.last(t).Type())
	}
	sanitize("cmd-3", "env1-db")
	conn, err = pgx.Connect(ctx, login.Credentials.URL)
	require.NoError(t, err, "the login survives an update and a sanitize")
	defer conn.Close(ctx)
	_, err = conn.Exec(ctx, "SELECT * FROM orders")
	assert.ErrorContains(t, err, "does not exist")
	sanitize("cmd-4", "never-provisioned")

	require.NoError(t, f.deprovision(t, "cmd-5", "env1-db"))
	_, err = creds.Get(ctx, "env1", "env1-db")
	assert.ErrorIs(t, err, app.ErrNoCredentials, "a deleted resource has no login")

	for _, e := range f.pub.all() {
		assert.False(t, strings.Contains(string(e.Data()), login.Credentials.Password), "%s carries the password", e.Type())
	}
}
