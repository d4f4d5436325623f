package provisioning_test

import (
	"context"
	"encoding/json"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/pave-platform/pave/pkg/events"
	"github.com/pave-platform/pave/pkg/rpc"
	"github.com/pave-platform/pave/pkg/testkit"
)

// sweepDrift runs the drift sweep on demand and returns what it found.
func (s *service) sweepDrift(t *testing.T) []events.CredentialDrifted {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	rep, err := rpc.Call(ctx, s.nc, rpc.CredentialDriftSweep, rpc.Request{})
	require.NoError(t, err)
	require.Equal(t, 200, rep.Status)
	var out struct {
		Items []events.CredentialDrifted
		Error string
	}
	require.NoError(t, json.Unmarshal(rep.Body, &out))
	require.Empty(t, out.Error)
	return out.Items
}

type driftKey struct{ Kind, Name, ResourceID string }

func keys(ds []events.CredentialDrifted) map[driftKey]events.CredentialDrifted {
	out := map[driftKey]events.CredentialDrifted{}
	for _, d := range ds {
		out[driftKey{d.Kind, d.Name, d.ResourceID}] = d
	}
	return out
}

// driftSetup: a ready environment with one developer grant, then hands on
// the server: a role made by hand and given CONNECT on the resource's
// database, a role that looks like Pave's, and the grant's role dropped.
func driftSetup(t *testing.T, remediate string) (*service, *pgx.Conn, string) {
	t.Helper()
	admin := testkit.Postgres(t).URL()
	s := start(t, map[string]string{"PAVE_PROVISIONING_POSTGRES_URL": admin,
		"PAVE_PROVISIONING_DRIFT_INTERVAL": "0", "PAVE_PROVISIONING_DRIFT_REMEDIATE": remediate})
	ctx := context.Background()
	s.provision(t, "env2", "env2-db", "postgres")
	s.activate(t, grantEvent("grt-drift", "alice", "payments", "developer", events.GrantScope{Kind: "stage", Stage: "dev"}))
	require.Equal(t, 1, s.sync(t, "env2").Issued, "a stage grant covers the environment of its stage")
	assert.Empty(t, s.sweepDrift(t), "no drift before anyone touches the server")

	hand, err := pgx.Connect(ctx, admin)
	require.NoError(t, err)
	t.Cleanup(func() { _ = hand.Close(context.Background()) })
	desired := s.logins(t, "alice", "env2")["postgres"].Username
	_, err = hand.Exec(ctx, `CREATE ROLE mallory LOGIN PASSWORD 'x';
		GRANT CONNECT ON DATABASE pave_env2_db TO mallory;
		CREATE ROLE paveg_00000000deadbeef LOGIN`)
	require.NoError(t, err)
	cfg, err := pgx.ParseConfig(admin)
	require.NoError(t, err)
	cfg.Database = "pave_env2_db"
	inside, err := pgx.ConnectConfig(ctx, cfg)
	require.NoError(t, err)
	_, err = inside.Exec(ctx, "DROP OWNED BY "+desired)
	require.NoError(t, err)
	require.NoError(t, inside.Close(ctx))
	_, err = hand.Exec(ctx, "DROP OWNED BY "+desired+"; DROP ROLE "+desired)
	require.NoError(t, err)
	return s, hand, desired
}

func TestDriftReportsRolesMadeByHandAndMissingOnes(t *testing.T) {
	s, _, desired := driftSetup(t, "false")

	found := keys(s.sweepDrift(t))
	assert.Len(t, found, 3)
	mallory, ok := found[driftKey{events.DriftExtra, "mallory", "env2-db"}]
	assert.True(t, ok, "a role given rights on the database by hand is extra: %v", found)
	assert.Equal(t, "env2", mallory.EnvironmentID)
	assert.False(t, mallory.Remediated)
	assert.Contains(t, found, driftKey{events.DriftExtra, "paveg_00000000deadbeef", ""}, "a paveg_ role no grant wants is extra")
	missing, ok := found[driftKey{events.DriftMissing, desired, "env2-db"}]
	assert.True(t, ok, "the grant's dropped role is missing: %v", found)
	assert.Equal(t, "grt-drift", missing.GrantID)

	ev := await[events.CredentialDrifted](t, s, events.TypeCredentialDrifted, "mallory")
	assert.Equal(t, events.DriftExtra, ev.Kind, "each difference is an event")
	assert.Len(t, s.sweepDrift(t), 3, "reporting changes nothing")
}

func TestDriftRemediationDropsExtrasAndIssuesMissingLogins(t *testing.T) {
	s, hand, desired := driftSetup(t, "true")
	ctx := context.Background()

	found := s.sweepDrift(t)
	require.Len(t, found, 3)
	for _, d := range found {
		assert.True(t, d.Remediated, "%+v", d)
	}
	assert.Empty(t, s.sweepDrift(t), "nothing is left to find")

	var malloryExists, fakeExists bool
	require.NoError(t, hand.QueryRow(ctx, `SELECT
		EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'mallory'),
		EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'paveg_00000000deadbeef')`).Scan(&malloryExists, &fakeExists))
	assert.True(t, malloryExists, "a role Pave did not make only loses its rights")
	assert.False(t, fakeExists, "an extra paveg_ role is dropped")
	var canConnect bool
	require.NoError(t, hand.QueryRow(ctx, `SELECT has_database_privilege('mallory', 'pave_env2_db', 'CONNECT')`).Scan(&canConnect))
	assert.False(t, canConnect)

	login := s.logins(t, "alice", "env2")["postgres"]
	assert.Equal(t, desired, login.Username)
	c, err := pgx.Connect(ctx, login.URL)
	require.NoError(t, err, "the missing login is issued again, with a new password the grantee can read")
	require.NoError(t, c.Close(ctx))
}
