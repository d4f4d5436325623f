package jit_test

import (
	"context"
	"encoding/json"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/pave-platform/pave/pkg/authn"
	"github.com/pave-platform/pave/pkg/bus"
	"github.com/pave-platform/pave/pkg/events"
	"github.com/pave-platform/pave/pkg/policy"
	"github.com/pave-platform/pave/pkg/schema"
	"github.com/pave-platform/pave/pkg/testkit"
	"github.com/pave-platform/pave/services/access/audit"
	"github.com/pave-platform/pave/services/access/internal/adapters"
	"github.com/pave-platform/pave/services/access/internal/domain"
	"github.com/pave-platform/pave/services/access/internal/jit"
)

type teams struct{ dir *adapters.KVDirectory }

func (t teams) TeamExists(name string) bool { _, ok := t.dir.Team(name); return ok }

type env struct {
	svc    *jit.Service
	index  *policy.Grants
	js     jetstream.JetStream
	events func(t *testing.T, typ string, n int) []map[string]any
}

func start(t *testing.T, cfg jit.Config) env {
	t.Helper()
	ctx := context.Background()
	srv := testkit.NATS(t)
	reg, err := schema.Default()
	require.NoError(t, err)
	b, err := bus.New(srv.Conn(t), reg, schema.SubjectFor)
	require.NoError(t, err)
	js := b.JetStream()
	require.NoError(t, bus.EnsureStreams(ctx, js, bus.ServiceStreams("access", bus.DefaultStreamOptions())...))
	require.NoError(t, bus.EnsureStreams(ctx, js, bus.CoreStreams(bus.DefaultStreamOptions())...))
	dir, err := adapters.NewKVDirectory(ctx, js, 1)
	require.NoError(t, err)
	t.Cleanup(func() { _ = dir.Stop() })
	for _, name := range []string{"pay", "web"} {
		require.NoError(t, dir.CreateTeam(ctx, domain.Team{Name: name, CreatedAt: time.Now()}))
	}
	if cfg.MaxGrant == 0 {
		cfg.MaxGrant = 8 * time.Hour
	}
	if cfg.RequestTTL == 0 {
		cfg.RequestTTL = time.Hour
	}
	if cfg.Approvals == 0 {
		cfg.Approvals = 1
	}
	index := policy.NewGrants(nil)
	svc, err := jit.New(ctx, adapters.JITTables(js, 1, slog.New(slog.DiscardHandler)), cfg, index, b, audit.NewLedger(js), teams{dir}, slog.New(slog.DiscardHandler))
	require.NoError(t, err)
	runCtx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() { defer close(done); svc.Run(runCtx) }()
	t.Cleanup(func() { cancel(); <-done; svc.Close() })
	// events reads the stream's events of typ from the start until n are in.
	read := func(t *testing.T, typ string, n int) []map[string]any {
		t.Helper()
		var out []map[string]any
		require.Eventually(t, func() bool {
			out = out[:0]
			c, err := js.OrderedConsumer(ctx, "EVT_ACCESS", jetstream.OrderedConsumerConfig{})
			require.NoError(t, err)
			batch, err := c.FetchNoWait(1000)
			require.NoError(t, err)
			for m := range batch.Messages() {
				e, err := bus.Decode(m.Headers(), m.Data())
				require.NoError(t, err)
				if e.Type() != typ {
					continue
				}
				var v map[string]any
				require.NoError(t, json.Unmarshal(e.Data(), &v))
				out = append(out, v)
			}
			return len(out) >= n
		}, 10*time.Second, 50*time.Millisecond, "waiting for %d %s", n, typ)
		return out
	}
	return env{svc: svc, index: index, js: js, events: read}
}

var (
	alice = authn.Principal{ID: "alice", Kind: authn.KindUser, Teams: []string{"pay"}, TeamRoles: map[string]string{"pay": "developer"}}
	bob   = authn.Principal{ID: "bob", Kind: authn.KindUser, Teams: []string{"pay"}, TeamRoles: map[string]string{"pay": "maintainer"}}
	carol = authn.Principal{ID: "carol", Kind: authn.KindUser, Teams: []string{"pay"}, TeamRoles: map[string]string{"pay": "maintainer"}}
)

func prodEnv(id string) policy.Resource {
	return policy.Resource{Type: policy.TypeEnvironment, ID: id, Team: "pay", Stage: "prod", Persistent: true}
}

// Nobody approves their own request; a role configured for two approvals
// needs two distinct people.
func TestApprovalsAreDistinctAndNeverTheRequesters(t *testing.T) {
	e := start(t, jit.Config{ApprovalsByRole: "developer=2"})
	ctx := context.Background()
	r, err := e.svc.CreateRequest(ctx, alice, jit.RequestInput{Role: "maintainer", Scope: jit.ScopeInput{Team: "pay", Stage: "prod"},
		Duration: "1h", Reason: "hotfix"})
	require.NoError(t, err)
	assert.Equal(t, 1, r.ApprovalsRequired)
	_, err = e.svc.Approve(ctx, alice, r.ID, "")
	require.ErrorIs(t, err, jit.ErrSelfApproval)
	got, _ := e.svc.GetRequest(r.ID)
	assert.Equal(t, domain.RequestPending, got.State, "a self-approval changes nothing")
	assert.Empty(t, e.svc.Grants(jit.GrantFilter{}))

	r, err = e.svc.Approve(ctx, bob, r.ID, "ok")
	require.NoError(t, err)
	assert.Equal(t, domain.RequestApproved, r.State)
	g, ok := e.svc.Grant(r.GrantID)
	require.True(t, ok)
	assert.Equal(t, []string{"bob"}, g.ApprovedBy)

	adm, err := e.svc.CreateRequest(ctx, alice, jit.RequestInput{Role: "developer", Scope: jit.ScopeInput{Team: "web"},
		Duration: "30m", Reason: "help the web team"})
	require.NoError(t, err)
	assert.Equal(t, 2, adm.ApprovalsRequired)
	adm, err = e.svc.Approve(ctx, bob, adm.ID, "")
	require.NoError(t, err)
	assert.Equal(t, domain.RequestPending, adm.State, "one approval of two")
	_, err = e.svc.Approve(ctx, bob, adm.ID, "")
	require.ErrorIs(t, err, jit.ErrConflict, "the same person twice is one approval")
	adm, err = e.svc.Approve(ctx, carol, adm.ID, "")
	require.NoError(t, err)
	assert.Equal(t, domain.RequestApproved, adm.State)

	_, err = e.svc.Deny(ctx, carol, adm.ID, "too late")
	require.ErrorIs(t, err, jit.ErrConflict, "a decided request stays decided")
}

// An approved grant counts at once, ends at its expiry (it stops counting
// at that instant), and the revoked event follows within a second.
func TestGrantExpiresAndIsRevokedWithinASecond(t *testing.T) {
	e := start(t, jit.Config{})
	ctx := context.Background()
	r, err := e.svc.CreateRequest(ctx, alice, jit.RequestInput{Role: "maintainer", Scope: jit.ScopeInput{Team: "pay", Stage: "prod"},
		Duration: "2s", Reason: "incident follow-up"})
	require.NoError(t, err)
	r, err = e.svc.Approve(ctx, bob, r.ID, "")
	require.NoError(t, err)
	g, _ := e.svc.Grant(r.GrantID)

	req := policy.Request{Principal: alice, Action: "environment:update", Resource: prodEnv("env-1")}
	applied, used := e.index.Apply(req, time.Now())
	assert.True(t, applied.Context.JITGrant, "the grant counts at once")
	assert.Equal(t, "maintainer", applied.Principal.TeamRoles["pay"])
	assert.Equal(t, []string{g.ID}, used)
	other, _ := e.index.Apply(policy.Request{Principal: alice, Action: "environment:update",
		Resource: policy.Resource{Type: policy.TypeEnvironment, ID: "env-2", Team: "web", Stage: "prod"}}, time.Now())
	assert.False(t, other.Context.JITGrant, "not on another team")
	late, _ := e.index.Apply(req, g.ExpiresAt)
	assert.False(t, late.Context.JITGrant, "not at its expiry, even before the revocation")

	act := e.events(t, events.TypeGrantActivated, 1)[0]
	assert.Equal(t, g.ID, act["grant_id"])
	assert.Equal(t, "alice", act["principal"])
	assert.Equal(t, map[string]any{"kind": "stage", "stage": "prod"}, act["scope"])
	assert.Equal(t, false, act["break_glass"])

	rev := e.events(t, events.TypeGrantRevoked, 1)[0]
	assert.Equal(t, "expired", rev["reason"])
	at, err := time.Parse(time.RFC3339Nano, rev["revoked_at"].(string))
	require.NoError(t, err)
	assert.False(t, at.Before(g.ExpiresAt), "not revoked before its expiry")
	assert.Less(t, at.Sub(g.ExpiresAt), time.Second, "revoked within a second of its expiry")
	ended, _ := e.svc.Grant(g.ID)
	assert.Equal(t, policy.GrantEnded, ended.State)
	assert.Empty(t, e.svc.Grants(jit.GrantFilter{Active: true}))
	now, _ := e.index.Apply(req, time.Now())
	assert.False(t, now.Context.JITGrant)
}

// Break-glass: an immediate grant of at most an hour, with a high-severity
// alert, setting context.incident.
func TestBreakGlassGrantsAtOnceAndAlerts(t *testing.T) {
	e := start(t, jit.Config{})
	ctx := context.Background()
	_, err := e.svc.BreakGlass(ctx, alice, jit.BreakGlassInput{IncidentID: "INC-1", Reason: "db down",
		Scope: jit.ScopeInput{Team: "pay"}, Duration: "2h"})
	var fe *domain.FieldError
	require.ErrorAs(t, err, &fe)
	assert.Equal(t, "duration", fe.Field)
	_, err = e.svc.BreakGlass(ctx, alice, jit.BreakGlassInput{Reason: "db down", Scope: jit.ScopeInput{Team: "pay"}})
	require.ErrorAs(t, err, &fe)
	assert.Equal(t, "incident_id", fe.Field)
	assert.Empty(t, e.svc.Grants(jit.GrantFilter{}), "nothing granted on bad input")

	g, err := e.svc.BreakGlass(ctx, alice, jit.BreakGlassInput{IncidentID: "INC-1", Reason: "db down",
		Scope: jit.ScopeInput{Team: "pay", Stage: "prod"}, Duration: "30m"})
	require.NoError(t, err)
	alert := e.events(t, events.TypeBreakGlassActivated, 1)[0]
	assert.Equal(t, "high", alert["severity"])
	assert.Equal(t, "INC-1", alert["incident_id"])
	assert.Equal(t, g.ID, alert["grant_id"])
	act := e.events(t, events.TypeGrantActivated, 1)[0]
	assert.Equal(t, true, act["break_glass"])
	applied, _ := e.index.Apply(policy.Request{Principal: alice, Action: "environment:promote", Resource: prodEnv("env-1")}, time.Now())
	assert.True(t, applied.Context.Incident)
	assert.True(t, applied.Context.JITGrant)

	// Revoked early by a maintainer: the event says who.
	_, err = e.svc.Revoke(ctx, bob, g.ID)
	require.NoError(t, err)
	rev := e.events(t, events.TypeGrantRevoked, 1)[0]
	assert.Equal(t, "revoked", rev["reason"])
	assert.Equal(t, "bob", rev["by"])
}

// Bad input names the field and grants nothing.
func TestBadRequestsNameTheFieldAndGrantNothing(t *testing.T) {
	e := start(t, jit.Config{MaxGrant: 8 * time.Hour})
	ctx := context.Background()
	ok := jit.RequestInput{Role: "maintainer", Scope: jit.ScopeInput{Team: "pay"}, Duration: "1h", Reason: "why"}
	for field, in := range map[string]jit.RequestInput{
		"role":                 {Role: "owner", Scope: ok.Scope, Duration: "1h", Reason: "x"},
		"duration":             {Role: "viewer", Scope: ok.Scope, Duration: "9h", Reason: "x"},
		"reason":               {Role: "viewer", Scope: ok.Scope, Duration: "1h", Reason: "  "},
		"scope.team":           {Role: "viewer", Scope: jit.ScopeInput{Team: "nope"}, Duration: "1h", Reason: "x"},
		"scope":                {Role: "viewer", Scope: jit.ScopeInput{Team: "pay", Stage: "prod", EnvironmentID: "e"}, Duration: "1h", Reason: "x"},
		"kind":                 {Kind: "root", Scope: ok.Scope, Duration: "1h", Reason: "x"},
		"scope.environment_id": {Kind: "teardown", Scope: ok.Scope, Duration: "1h", Reason: "x"},
	} {
		_, err := e.svc.CreateRequest(ctx, alice, in)
		var fe *domain.FieldError
		require.ErrorAs(t, err, &fe, field)
		assert.Equal(t, field, fe.Field)
	}
	assert.Empty(t, e.svc.Requests(alice, true, "", ""), "no request stored")
	_, err := e.svc.CreateRequest(ctx, alice, ok)
	require.NoError(t, err)
}

// A teardown approval by someone else sets context.second_approval for the
// requester on that environment only, and the shipped policy then lets a
// maintainer tear the persistent production environment down.
func TestTeardownNeedsASecondPerson(t *testing.T) {
	e := start(t, jit.Config{})
	ctx := context.Background()
	policies, err := policy.Load(policy.Config{PoliciesDir: "../../../../deploy/policies"})
	require.NoError(t, err)
	engine := policy.New(policies)
	del := policy.Request{Principal: bob, Action: "environment:delete", Resource: prodEnv("env-db")}
	d := engine.Decide(del)
	assert.False(t, d.Allowed)
	assert.Contains(t, d.Policies, "production-teardown-needs-second-person")

	r, err := e.svc.CreateRequest(ctx, bob, jit.RequestInput{Kind: domain.KindTeardown,
		Scope: jit.ScopeInput{Team: "pay", EnvironmentID: "env-db"}, Duration: "1h", Reason: "decommission"})
	require.NoError(t, err)
	_, err = e.svc.Approve(ctx, bob, r.ID, "")
	require.ErrorIs(t, err, jit.ErrSelfApproval)
	_, err = e.svc.Approve(ctx, carol, r.ID, "seen")
	require.NoError(t, err)

	applied, _ := e.index.Apply(del, time.Now())
	assert.True(t, applied.Context.SecondApproval)
	assert.False(t, applied.Context.JITGrant, "a teardown approval elevates no role")
	assert.True(t, engine.Decide(applied).Allowed)
	other, _ := e.index.Apply(policy.Request{Principal: bob, Action: "environment:delete", Resource: prodEnv("env-other")}, time.Now())
	assert.False(t, engine.Decide(other).Allowed, "only for that environment")
	carolsDel, _ := e.index.Apply(policy.Request{Principal: carol, Action: "environment:delete", Resource: prodEnv("env-db")}, time.Now())
	assert.False(t, engine.Decide(carolsDel).Allowed, "only for the requester")
}

// A review lists the team's active grants with their last use; a decision
// revokes, and what nobody reviewed by the deadline is revoked too.
func TestReviewRevokesWhatIsNotKeptByTheDeadline(t *testing.T) {
	e := start(t, jit.Config{})
	ctx := context.Background()
	var ids []string
	for _, who := range []authn.Principal{alice, carol} {
		r, err := e.svc.CreateRequest(ctx, who, jit.RequestInput{Role: "developer", Scope: jit.ScopeInput{Team: "pay"},
			Duration: "1h", Reason: "work"})
		require.NoError(t, err)
		r, err = e.svc.Approve(ctx, bob, r.ID, "")
		require.NoError(t, err)
		ids = append(ids, r.GrantID)
	}
	used := time.Now().UTC()
	e.svc.MarkUsed(ctx, []string{ids[0]}, used)

	_, err := e.svc.CreateReview(ctx, bob, "pay", time.Now().Add(-time.Minute))
	var fe *domain.FieldError
	require.ErrorAs(t, err, &fe)
	assert.Equal(t, "deadline", fe.Field)

	rv, err := e.svc.CreateReview(ctx, bob, "pay", time.Now().Add(1500*time.Millisecond))
	require.NoError(t, err)
	require.Len(t, rv.Items, 2)
	got, _ := e.svc.Review(rv.ID)
	for _, it := range got.Items {
		if it.GrantID == ids[0] {
			require.NotNil(t, it.LastUsedAt)
			assert.WithinDuration(t, used, *it.LastUsedAt, time.Millisecond)
		}
	}
	_, err = e.svc.DecideReview(ctx, bob, rv.ID, ids[0], "keep")
	require.NoError(t, err)
	_, err = e.svc.DecideReview(ctx, bob, rv.ID, ids[0], "revoke")
	require.ErrorIs(t, err, jit.ErrConflict)
	_, err = e.svc.DecideReview(ctx, bob, rv.ID, ids[1], "maybe")
	require.ErrorAs(t, err, &fe)
	assert.Equal(t, "decision", fe.Field)

	rev := e.events(t, events.TypeGrantRevoked, 1)[0]
	assert.Equal(t, ids[1], rev["grant_id"])
	assert.Equal(t, "review", rev["reason"])
	kept, _ := e.svc.Grant(ids[0])
	assert.Equal(t, policy.GrantActive, kept.State)
	closed, _ := e.svc.Review(rv.ID)
	assert.Equal(t, domain.ReviewClosed, closed.State)
	csv := jit.ReviewCSV(closed)
	assert.Contains(t, csv, ids[0]+",alice,access,developer,team,")
	assert.True(t, strings.Contains(csv, ",keep,bob,") && strings.Contains(csv, "revoked-unreviewed"), csv)
}

// A request nobody decides within its TTL expires and can no longer be
// approved.
func TestAPendingRequestExpires(t *testing.T) {
	e := start(t, jit.Config{RequestTTL: 500 * time.Millisecond})
	ctx := context.Background()
	r, err := e.svc.CreateRequest(ctx, alice, jit.RequestInput{Role: "developer", Scope: jit.ScopeInput{Team: "pay"},
		Duration: "1h", Reason: "later"})
	require.NoError(t, err)
	require.Eventually(t, func() bool {
		got, _ := e.svc.GetRequest(r.ID)
		return got.State == domain.RequestExpired
	}, 3*time.Second, 20*time.Millisecond)
	_, err = e.svc.Approve(ctx, bob, r.ID, "")
	require.ErrorIs(t, err, jit.ErrConflict)
	assert.Empty(t, e.svc.Grants(jit.GrantFilter{}))
}

// A teardown approval is announced on its own events (the gateway's grant
// index counts it from them): teardown.approved when it starts and
// teardown.ended when it ends, and never grant.activated, which would
// become credentials.
func TestTeardownApprovalIsAnnouncedForTheGateway(t *testing.T) {
	e := start(t, jit.Config{})
	ctx := context.Background()
	r, err := e.svc.CreateRequest(ctx, bob, jit.RequestInput{Kind: domain.KindTeardown,
		Scope: jit.ScopeInput{Team: "pay", EnvironmentID: "env-db"}, Duration: "1h", Reason: "decommission"})
	require.NoError(t, err)
	r, err = e.svc.Approve(ctx, carol, r.ID, "seen")
	require.NoError(t, err)

	approved := e.events(t, events.TypeTeardownApproved, 1)[0]
	assert.Equal(t, r.GrantID, approved["grant_id"])
	assert.Equal(t, "bob", approved["principal"])
	assert.Equal(t, map[string]any{"kind": "environment", "environment_id": "env-db"}, approved["scope"])
	assert.Equal(t, []any{"carol"}, approved["approved_by"])

	_, err = e.svc.Revoke(ctx, carol, r.GrantID)
	require.NoError(t, err)
	ended := e.events(t, events.TypeTeardownEnded, 1)[0]
	assert.Equal(t, r.GrantID, ended["grant_id"])
	assert.Equal(t, events.GrantRevokedRevoked, ended["reason"])
	assert.Equal(t, "carol", ended["by"])
	assert.Empty(t, e.events(t, events.TypeGrantActivated, 0), "a teardown approval is no grant.activated")
}
