package app_test

import (
	"context"
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/pave-platform/pave/pkg/events"
	"github.com/pave-platform/pave/services/provisioning/internal/adapters"
	"github.com/pave-platform/pave/services/provisioning/internal/app"
)

// TestLedgerReturnsToItsSizeAfterTombstonesExpire reproduces issue 15's
// "ledger tombstones never removed": every resource ever deleted stayed
// in PROVISIONING_LEDGER as a tombstone. Rounds of resources provisioned
// and deprovisioned (new ids each round) now leave the bucket's keys and
// messages where they were once the retention has passed and the sweep
// has run. While a tombstone is kept, a late provision of its id is
// refused and creates nothing; once it is gone, a provision issued before
// the horizon is refused by its age, and creates nothing either.
func TestLedgerReturnsToItsSizeAfterTombstonesExpire(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	ctx := context.Background()
	const retention = 30 * 24 * time.Hour
	var clock atomic.Pointer[time.Time]
	set := func(at time.Time) { clock.Store(&at) }
	t0 := time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)
	set(t0)
	f.deps.Now = func() time.Time { return *clock.Load() }
	f.deps.TombstoneRetention = retention
	sweep := &app.Tombstones{Ledger: f.ledger, Retention: retention, Now: f.deps.Now}

	require.NoError(t, f.provision(t, "cmd-live", "live-db", nil))
	baseKeys, baseMsgs := f.ledgerSize(t)
	require.Equal(t, 1, baseKeys)

	const rounds, perRound = 3, 4
	for r := range rounds {
		start := t0.Add(time.Duration(r) * 2 * retention)
		set(start)
		var ids []string
		for i := range perRound {
			id := fmt.Sprintf("r%d-%d-db", r, i)
			ids = append(ids, id)
			require.NoError(t, f.provision(t, "p-"+id, id, nil))
			require.NoError(t, f.deprovision(t, "d-"+id, id))
		}
		keys, _ := f.ledgerSize(t)
		require.Equal(t, baseKeys+perRound, keys, "round %d: one tombstone per deleted resource", r)

		set(start.Add(retention - time.Hour))
		n, err := sweep.Sweep(ctx)
		require.NoError(t, err)
		assert.Zero(t, n, "round %d: no tombstone is past its retention yet", r)
		require.NoError(t, f.provision(t, "late-"+ids[0], ids[0], nil), "the late provision")
		assert.Contains(t, f.lastFailure(t), "after its deprovision creates nothing", "round %d", r)

		set(start.Add(retention + time.Hour))
		n, err = sweep.Sweep(ctx)
		require.NoError(t, err)
		assert.Equal(t, perRound, n, "round %d: every tombstone of the round goes", r)
		keys, msgs := f.ledgerSize(t)
		assert.Equal(t, baseKeys, keys, "round %d: the ledger holds what it held before the round", r)
		assert.Equal(t, baseMsgs, msgs, "round %d: no revision and no marker of a removed tombstone is left", r)

		err = app.NewProvision(f.deps).HandleIssued(ctx, "stale-"+ids[1], start, events.ProvisionCommand{
			Saga: saga("stale-" + ids[1]), EnvironmentID: "env1", Team: "payments",
			Resource: events.ResourceSpec{ID: ids[1], Name: "db", Driver: "postgres", Class: "small"}})
		require.NoError(t, err)
		assert.Contains(t, f.lastFailure(t), "longer ago than the tombstone retention", "round %d", r)
		keys, _ = f.ledgerSize(t)
		assert.Equal(t, baseKeys, keys, "round %d: the refused provision recorded nothing", r)
	}
	assert.Equal(t, []string{"database:pave_live_db", "role:pave_live_db"}, f.inventory(t),
		"only the live resource exists: no late or stale provision created anything")
}

// ledgerSize is the ledger bucket's key count and stored message count.
func (f *fixture) ledgerSize(t *testing.T) (keys int, msgs uint64) {
	t.Helper()
	ctx := context.Background()
	b, err := f.js.KeyValue(ctx, adapters.LedgerBucket)
	require.NoError(t, err)
	lister, err := b.ListKeys(ctx)
	require.NoError(t, err)
	for range lister.Keys() {
		keys++
	}
	st, err := f.js.Stream(ctx, "KV_"+adapters.LedgerBucket)
	require.NoError(t, err)
	info, err := st.Info(ctx)
	require.NoError(t, err)
	return keys, info.State.Msgs
}

// lastFailure is the reason of the last answer, which must be a permanent
// failure.
func (f *fixture) lastFailure(t *testing.T) string {
	t.Helper()
	e := f.pub.last(t)
	require.Equal(t, events.TypeResourceFailed, e.Type())
	failed := data[events.ResourceFailed](t, e)
	require.False(t, failed.Retryable)
	return failed.Reason
}

// Grants that ended (revoked, or expired) longer ago than the retention
// leave PROVISIONING_GRANTS; a live grant, and an ended one whose login
// is still issued, stay. A late activation of a removed grant issues
// nothing: its expiry is long past.
func TestEndedGrantsLeaveTheGrantStore(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	ctx := context.Background()
	const retention = 30 * 24 * time.Hour
	var clock atomic.Pointer[time.Time]
	set := func(at time.Time) { clock.Store(&at) }
	t0 := time.Now().UTC()
	set(t0)
	store, err := adapters.NewKVGrants(ctx, f.js, 1)
	require.NoError(t, err)
	g := &app.Grants{Store: store, Ledger: f.ledger, Drivers: f.drivers, Sealer: f.deps.Sealer, Publisher: f.pub,
		Now: func() time.Time { return *clock.Load() }}
	sweep := &app.Tombstones{Ledger: f.ledger, Grants: store, Retention: retention, Now: g.Now}
	require.NoError(t, f.provision(t, "p1", "env1-db", nil))
	require.NoError(t, g.Sync(ctx, "c1", syncCmd()))

	live := activated("grt-live")
	live.ExpiresAt = t0.Add(3 * retention)
	require.NoError(t, g.Activated(ctx, live))
	old := activated("grt-old")
	require.NoError(t, g.Activated(ctx, old))
	require.NoError(t, g.Revoked(ctx, revoked("grt-old")))
	require.NoError(t, g.Revoked(ctx, revoked("grt-never-seen")))
	require.Len(t, f.grantRoles(t), 1, "grt-live's login")
	grants, err := store.ListGrants(ctx)
	require.NoError(t, err)
	require.Len(t, grants, 3)

	n, err := sweep.Sweep(ctx)
	require.NoError(t, err)
	assert.Zero(t, n, "nothing ended before the horizon yet")

	set(t0.Add(retention + 2*time.Hour))
	n, err = sweep.Sweep(ctx)
	require.NoError(t, err)
	assert.Equal(t, 2, n, "the revoked grants go")
	grants, err = store.ListGrants(ctx)
	require.NoError(t, err)
	require.Len(t, grants, 1)
	assert.Equal(t, "grt-live", grants[0].GrantID)

	require.NoError(t, g.Activated(ctx, old), "the late activation of a removed grant")
	assert.Len(t, f.grantRoles(t), 1, "it issued nothing: only grt-live's login exists")
}
