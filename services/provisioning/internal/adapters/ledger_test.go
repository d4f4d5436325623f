package adapters_test

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/pave-platform/pave/pkg/testkit"
	"github.com/pave-platform/pave/services/provisioning/internal/adapters"
	"github.com/pave-platform/pave/services/provisioning/internal/app"
	"github.com/pave-platform/pave/services/provisioning/internal/domain"
)

func TestLedgerIsCompareAndSet(t *testing.T) {
	ctx := context.Background()
	js := testkit.NATS(t).JetStream(t)
	l, err := adapters.NewKVLedger(ctx, js, 1)
	require.NoError(t, err)
	now := time.Now().UTC().Truncate(time.Second)

	_, err = l.Get(ctx, "env1-db")
	require.ErrorIs(t, err, app.ErrNotFound)

	r := domain.NewProvisioning(domain.Resource{ID: "env1-db", EnvironmentID: "env1", Driver: "postgres"},
		[]string{"database:pave_env1_db"}, now)
	created, err := l.Create(ctx, r)
	require.NoError(t, err)
	_, err = l.Create(ctx, r)
	assert.ErrorIs(t, err, app.ErrConflict, "an id is created once")

	ready, err := l.Update(ctx, created.Ready(domain.Result{Outputs: map[string]string{"host": "h"}}, []byte("sealed"), "", now))
	require.NoError(t, err)
	_, err = l.Update(ctx, created.Deprovisioning(now))
	assert.ErrorIs(t, err, app.ErrConflict, "a write from a stale revision is refused")

	got, err := l.Get(ctx, "env1-db")
	require.NoError(t, err)
	assert.Equal(t, ready, got)

	_, err = l.Create(ctx, domain.NewTombstone("env2-db", "env2", "redis", "cmd-1", now))
	require.NoError(t, err)
	all, err := l.List(ctx)
	require.NoError(t, err)
	require.Len(t, all, 2)
	assert.Equal(t, domain.StateDeleted, all[1].State)

	// Declaring the bucket again (a restart) keeps the records.
	l2, err := adapters.NewKVLedger(ctx, js, 1)
	require.NoError(t, err)
	got, err = l2.Get(ctx, "env1-db")
	require.NoError(t, err)
	assert.Equal(t, domain.StateReady, got.State)
}
