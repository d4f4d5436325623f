package app_test

import (
	"context"
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/pave-platform/pave/pkg/events"
	"github.com/pave-platform/pave/services/provisioning/internal/adapters"
	"github.com/pave-platform/pave/services/provisioning/internal/app"
)

func newUnreachablePostgres() (*adapters.Postgres, error) {
	return adapters.NewPostgres("postgres://postgres@127.0.0.1:1/postgres?sslmode=disable&connect_timeout=2")
}

func TestSweepReportsAndRemovesOrphans(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	ctx := context.Background()
	require.NoError(t, f.provision(t, "cmd-1", "env1-db", nil))
	require.NoError(t, f.deprovision(t, "cmd-2", "gone-db"))
	conn, err := pgx.Connect(ctx, f.admin)
	require.NoError(t, err)
	defer conn.Close(ctx)
	_, err = conn.Exec(ctx, "CREATE DATABASE pave_made_by_hand")
	require.NoError(t, err)
	_, err = conn.Exec(ctx, "CREATE DATABASE pave_gone_db") // survived its tombstone
	require.NoError(t, err)

	sweep := &app.Sweep{Ledger: f.ledger, Drivers: f.drivers, Publisher: f.pub}
	orphans, err := sweep.Run(ctx)
	require.NoError(t, err)
	assert.Equal(t, []app.Orphan{
		{Driver: "postgres", ExternalID: "database:pave_gone_db"},
		{Driver: "postgres", ExternalID: "database:pave_made_by_hand"},
	}, orphans)
	reported := data[events.ResourceOrphaned](t, f.pub.last(t))
	assert.Equal(t, "database:pave_made_by_hand", reported.ExternalID)
	assert.False(t, reported.Removed)
	assert.Contains(t, f.inventory(t), "database:pave_made_by_hand", "only reported")

	sweep.Remove = true
	orphans, err = sweep.Run(ctx)
	require.NoError(t, err)
	require.Len(t, orphans, 2)
	assert.True(t, orphans[0].Removed && orphans[1].Removed)
	assert.True(t, data[events.ResourceOrphaned](t, f.pub.last(t)).Removed)
	assert.Equal(t, []string{"database:pave_env1_db", "role:pave_env1_db"}, f.inventory(t),
		"the live resource is untouched")

	orphans, err = sweep.Run(ctx)
	require.NoError(t, err)
	assert.Empty(t, orphans)
}
