package provisioning_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/pave-platform/pave/pkg/authn"
	"github.com/pave-platform/pave/pkg/events"
	"github.com/pave-platform/pave/pkg/rpc"
	"github.com/pave-platform/pave/pkg/testkit"
	"github.com/pave-platform/pave/services/provisioning"
)

type grantLogin = provisioning.GrantLoginReply

func grantEvent(id, principal, team, role string, scope events.GrantScope) events.GrantActivated {
	now := time.Now().UTC()
	return events.GrantActivated{GrantID: id, Principal: principal, Team: team, Role: role, Scope: scope,
		StartsAt: now, ExpiresAt: now.Add(time.Hour).Truncate(time.Second)}
}

func (s *service) activate(t *testing.T, g events.GrantActivated) {
	t.Helper()
	s.send(t, "grant/"+g.GrantID+"/activated", events.TypeGrantActivated, g)
}

func (s *service) revoke(t *testing.T, g events.GrantActivated, reason string) {
	t.Helper()
	s.send(t, "grant/"+g.GrantID+"/revoked", events.TypeGrantRevoked, events.GrantRevoked{GrantID: g.GrantID,
		Principal: g.Principal, Team: g.Team, Role: g.Role, Scope: g.Scope, Reason: reason, RevokedAt: time.Now().UTC()})
}

func (s *service) sync(t *testing.T, env string) events.CredentialsSynced {
	t.Helper()
	s.send(t, "saga-"+env+"/issue-credentials/1", events.TypeCredentialsSyncCommand, events.CredentialsSyncCommand{
		Saga: events.Saga{ID: "saga-" + env, Step: "issue-credentials", Attempt: 1}, EnvironmentID: env, Team: "payments", Stage: "dev"})
	return await[events.CredentialsSynced](t, s, events.TypeCredentialsSynced, env)
}

func (s *service) provision(t *testing.T, env, id, driver string) {
	t.Helper()
	cmd := provisionCommand(id, driver)
	cmd.EnvironmentID = env
	s.send(t, "saga-"+id+"/provision/1", events.TypeProvisionCommand, cmd)
	await[events.ResourceProvisioned](t, s, events.TypeResourceProvisioned, id)
}

// logins asks for principal's grant logins on env, as the gateway would.
func (s *service) logins(t *testing.T, principal, env string) map[string]grantLogin {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	rep, err := rpc.Call(ctx, s.nc, rpc.GrantCredentials, rpc.Request{
		Principal: authn.Principal{ID: principal, Kind: "user", Teams: []string{"payments"}},
		Query:     map[string]string{"environment_id": env},
	})
	require.NoError(t, err)
	require.Equal(t, 200, rep.Status, "%+v", rep.Problem)
	var out struct{ Items []grantLogin }
	require.NoError(t, json.Unmarshal(rep.Body, &out))
	byDriver := map[string]grantLogin{}
	for _, l := range out.Items {
		byDriver[l.Driver] = l
	}
	return byDriver
}

// authFailed reports whether err is PostgreSQL refusing the login.
func authFailed(err error) bool {
	var pe *pgconn.PgError
	return errors.As(err, &pe) && (pe.Code == "28P01" || pe.Code == "28000")
}

func TestGrantLoginsFollowGrantsOnPostgresAndRedis(t *testing.T) {
	admin, rds := testkit.Postgres(t).URL(), testkit.Redis(t).URL()
	s := start(t, map[string]string{"PAVE_PROVISIONING_POSTGRES_URL": admin, "PAVE_PROVISIONING_REDIS_URL": rds,
		"PAVE_PROVISIONING_DRIFT_INTERVAL": "0"})
	ctx := context.Background()
	s.provision(t, "env1", "env1-db", "postgres")
	s.provision(t, "env1", "env1-cache", "redis")
	owner := credentials(t, s, []string{"payments"}, "env1", "env1-db")
	var ownerLogin provisioning.CredentialsReply
	require.NoError(t, json.Unmarshal(owner.Body, &ownerLogin))
	oc, err := pgx.Connect(ctx, ownerLogin.URL)
	require.NoError(t, err)
	_, err = oc.Exec(ctx, "CREATE TABLE orders (id int); INSERT INTO orders VALUES (1)")
	require.NoError(t, err)
	require.NoError(t, oc.Close(ctx))

	viewer := grantEvent("grt-viewer", "alice", "payments", "viewer", events.GrantScope{Kind: "environment", EnvironmentID: "env1"})
	s.activate(t, viewer)
	s.activate(t, grantEvent("grt-other", "carol", "marketing", "admin", events.GrantScope{Kind: "team"}))
	// Grant events and the sync command arrive on different streams; the
	// sync counts the grants provisioning has heard of, so wait for both.
	s.grantEventsHandled(t)
	synced := s.sync(t, "env1")
	assert.Equal(t, 2, synced.Issued, "one login per grant and resource; another team's grant gives none")

	alice := s.logins(t, "alice", "env1")
	require.Len(t, alice, 2)
	assert.Empty(t, s.logins(t, "carol", "env1"))
	assert.Equal(t, viewer.ExpiresAt, alice["postgres"].ExpiresAt.UTC())
	ac, err := pgx.Connect(ctx, alice["postgres"].URL)
	require.NoError(t, err, "the viewer's role logs in")
	defer ac.Close(ctx)
	var n int
	require.NoError(t, ac.QueryRow(ctx, "SELECT count(*) FROM orders").Scan(&n))
	assert.Equal(t, 1, n, "a viewer reads")
	_, err = ac.Exec(ctx, "INSERT INTO orders VALUES (2)")
	assert.ErrorContains(t, err, "permission denied", "a viewer does not write")
	var validUntil time.Time
	require.NoError(t, ac.QueryRow(ctx, "SELECT rolvaliduntil FROM pg_roles WHERE rolname = current_user").Scan(&validUntil))
	assert.True(t, validUntil.Equal(viewer.ExpiresAt), "the role expires with its grant: %s", validUntil)

	ar := redis.NewClient(mustRedisOpts(t, alice["redis"].URL))
	defer ar.Close()
	assert.ErrorContains(t, ar.Set(ctx, "env:env1-cache:k", "v", 0).Err(), "NOPERM", "a viewer does not write keys")
	assert.ErrorIs(t, ar.Get(ctx, "env:env1-cache:k").Err(), redis.Nil, "a viewer reads keys")

	// A grant activated while the environment is ready is issued at once.
	dev := grantEvent("grt-dev", "bob", "payments", "developer", events.GrantScope{Kind: "team"})
	s.activate(t, dev)
	var bob map[string]grantLogin
	require.Eventually(t, func() bool { bob = s.logins(t, "bob", "env1"); return len(bob) == 2 }, 20*time.Second, 50*time.Millisecond)
	bc, err := pgx.Connect(ctx, bob["postgres"].URL)
	require.NoError(t, err)
	_, err = bc.Exec(ctx, "INSERT INTO orders VALUES (2)")
	assert.NoError(t, err, "a developer writes")
	require.NoError(t, bc.Close(ctx))
	br := redis.NewClient(mustRedisOpts(t, bob["redis"].URL))
	defer br.Close()
	assert.NoError(t, br.Set(ctx, "env:env1-cache:k", "v", 0).Err(), "a developer writes keys")
	assert.ErrorContains(t, br.Set(ctx, "other:k", "v", 0).Err(), "NOPERM", "only the resource's keys")

	// Expiry: the role cannot log in any more, its session is ended, the ACL user is gone.
	s.revoke(t, viewer, events.GrantRevokedExpired)
	require.Eventually(t, func() bool {
		c, err := pgx.Connect(ctx, alice["postgres"].URL)
		if err == nil {
			_ = c.Close(ctx)
		}
		return authFailed(err)
	}, 20*time.Second, 50*time.Millisecond, "the expired grant's role still logs in")
	// The role is locked out first, then its sessions are ended.
	assert.Eventually(t, func() bool { return ac.Ping(ctx) != nil }, 20*time.Second, 50*time.Millisecond,
		"the open session was not ended")
	probe := redis.NewClient(mustRedisOpts(t, alice["redis"].URL))
	defer probe.Close()
	require.Eventually(t, func() bool {
		err := probe.Ping(ctx).Err()
		return err != nil && strings.Contains(err.Error(), "WRONGPASS")
	}, 20*time.Second, 50*time.Millisecond, "the ACL user is gone")
	assert.Empty(t, s.logins(t, "alice", "env1"))

	// Teardown revokes the rest.
	s.send(t, "saga-env1/revoke-grants/1", events.TypeCredentialsRevokeCommand, events.CredentialsRevokeCommand{
		Saga: events.Saga{ID: "saga-env1", Step: "revoke-grants", Attempt: 1}, EnvironmentID: "env1"})
	revoked := await[events.CredentialsRevoked](t, s, events.TypeCredentialsRevoked, "env1")
	assert.Equal(t, 2, revoked.Revoked)
	_, err = pgx.Connect(ctx, bob["postgres"].URL)
	assert.True(t, authFailed(err), "bob's role is gone: %v", err)
	gone := redis.NewClient(mustRedisOpts(t, bob["redis"].URL))
	defer gone.Close()
	assert.ErrorContains(t, gone.Ping(ctx).Err(), "WRONGPASS")

	s.noSecretsIn(t, alice["postgres"].Password, alice["redis"].Password, bob["postgres"].Password, bob["redis"].Password)
}

// grantEventsHandled waits until provisioning has handled every grant
// event published so far (its consumer of EVT_ACCESS has none pending).
func (s *service) grantEventsHandled(t *testing.T) {
	t.Helper()
	js, err := jetstream.New(s.nc)
	require.NoError(t, err)
	var last string
	handled := assert.Eventually(t, func() bool {
		c, err := js.Consumer(context.Background(), "EVT_ACCESS", "provisioning-grants")
		if err != nil {
			last = err.Error()
			return false
		}
		info, err := c.Info(context.Background())
		if err != nil {
			last = err.Error()
			return false
		}
		last = fmt.Sprintf("%d pending, %d unacknowledged", info.NumPending, info.NumAckPending)
		return info.NumPending == 0 && info.NumAckPending == 0
	}, 20*time.Second, 10*time.Millisecond)
	if !handled {
		t.Fatalf("grant events not yet handled: %s", last)
	}
}

func mustRedisOpts(t *testing.T, url string) *redis.Options {
	t.Helper()
	o, err := redis.ParseURL(url)
	require.NoError(t, err)
	o.MaxRetries = -1
	return o
}

func (s *service) noSecretsIn(t *testing.T, secrets ...string) {
	t.Helper()
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, m := range s.raw {
		raw := fmt.Sprint(m.Header) + string(m.Data)
		for _, p := range secrets {
			require.NotEmpty(t, p)
			assert.NotContains(t, raw, p, "%s carries a password", m.Header.Get("ce-type"))
		}
	}
}
