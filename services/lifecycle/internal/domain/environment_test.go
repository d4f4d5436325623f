package domain_test

import (
	"encoding/json"
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/pave-platform/pave/services/lifecycle/internal/domain"
)

func TestNewEnvironment(t *testing.T) {
	env := newEnv(t, "svc", map[string]any{"service": "shop"})

	assert.Equal(t, domain.StateRequested, env.State)
	assert.Equal(t, "svc", env.Template)
	assert.Equal(t, "1.1.0", env.Version, "latest release")
	assert.Equal(t, 1, env.Revision)
	assert.Equal(t, []domain.Revision{{Number: 1, Parameters: env.Parameters, CreatedAt: t0, By: "alice"}}, env.Revisions)
	assert.Equal(t, &domain.Operation{ID: "op-1", Kind: domain.OpCreate, StartedAt: t0}, env.Operation)
	assert.Equal(t, []domain.ResourceStatus{
		{Name: "db", ID: "env-abcdefgh2345-db", Driver: domain.DriverPostgres, Class: "small", State: domain.ResourcePending},
		{Name: "cache", ID: "env-abcdefgh2345-cache", Driver: domain.DriverRedis, Class: "small", State: domain.ResourcePending},
		{Name: "app", ID: "env-abcdefgh2345-app", Driver: domain.DriverHTTP, Class: "small", State: domain.ResourcePending},
		{Name: "migrate", ID: "env-abcdefgh2345-migrate", Driver: domain.DriverExec, Class: "small", State: domain.ResourcePending},
		{Name: "events", ID: "env-abcdefgh2345-events", Driver: domain.DriverNATS, Class: "small", State: domain.ResourcePending},
	}, env.Resources)
	assert.False(t, env.Ephemeral)
	assert.True(t, env.ExpiresAt.IsZero())
	assert.False(t, env.Expires())
}

func TestNewEnvironmentRefusesAMalformedID(t *testing.T) {
	req, err := domain.NewEnvironmentRequest(testCatalog(t), domain.CreateRequest{Team: "a", Name: "b", Template: "pv"})
	require.NoError(t, err)
	_, err = domain.NewEnvironment("ENV-1", req, "op", "alice", t0)
	assert.ErrorIs(t, err, domain.ErrInvalid)
}

// TestTransitionTable is the specification of the state machine.
func TestTransitionTable(t *testing.T) {
	s := func(states ...domain.State) []domain.State { return states }
	want := map[domain.State][]domain.State{
		domain.StateRequested:          s(domain.StateQueued, domain.StateFailed, domain.StateDecommissioning),
		domain.StateQueued:             s(domain.StateProvisioning, domain.StateFailed, domain.StateDecommissioning),
		domain.StateProvisioning:       s(domain.StateReady, domain.StateFailed, domain.StateCompensationFailed),
		domain.StateReady:              s(domain.StateUpdating, domain.StateDegraded, domain.StateExpiring, domain.StateDecommissioning),
		domain.StateUpdating:           s(domain.StateReady, domain.StateDegraded, domain.StateCompensationFailed),
		domain.StateDegraded:           s(domain.StateReady, domain.StateUpdating, domain.StateDecommissioning),
		domain.StateExpiring:           s(domain.StateReady, domain.StateDegraded, domain.StateDecommissioning),
		domain.StateDecommissioning:    s(domain.StateDeleted, domain.StateCompensationFailed),
		domain.StateCompensationFailed: s(domain.StateDecommissioning, domain.StateFailed, domain.StateDegraded),
		domain.StateDeleted:            nil,
		domain.StateFailed:             s(domain.StateDecommissioning, domain.StateDeleted),
	}
	require.Len(t, domain.States(), len(want))
	for _, from := range domain.States() {
		for _, to := range domain.States() {
			assert.Equal(t, slices.Contains(want[from], to), domain.CanTransition(from, to), "%s → %s", from, to)
		}
		terminal := from == domain.StateDeleted || from == domain.StateFailed // only a delete follows failed
		assert.Equal(t, terminal, from.Terminal(), "%s terminal", from)
	}
}

// action is one state-changing method, with the states it may start from.
type action struct {
	name string
	call func(domain.Environment) (domain.Environment, error)
	from []domain.State
	to   domain.State
}

func actions(t *testing.T) []action {
	pv := parse(t, pvYAML)
	at := t0.Add(5 * time.Hour) // past the pv lease of 4h
	all := func(ss ...domain.State) []domain.State { return ss }
	return []action{
		{"Queue", func(e domain.Environment) (domain.Environment, error) { return e.Queue("platform", at) },
			all(domain.StateRequested), domain.StateQueued},
		{"MarkProvisioning", func(e domain.Environment) (domain.Environment, error) { return e.MarkProvisioning(at) },
			all(domain.StateQueued), domain.StateProvisioning},
		{"WaitForAdmission", func(e domain.Environment) (domain.Environment, error) {
			return e.WaitForAdmission("team quota exhausted for ops", 2, at, at)
		}, all(domain.StateQueued), domain.StateQueued},
		{"MarkReady", func(e domain.Environment) (domain.Environment, error) { return e.MarkReady(at) },
			all(domain.StateProvisioning, domain.StateUpdating, domain.StateDegraded), domain.StateReady},
		{"MarkDegraded", func(e domain.Environment) (domain.Environment, error) { return e.MarkDegraded("db down", at) },
			all(domain.StateReady, domain.StateUpdating, domain.StateExpiring), domain.StateDegraded},
		{"MarkFailed", func(e domain.Environment) (domain.Environment, error) { return e.MarkFailed("over budget", at) },
			all(domain.StateRequested, domain.StateQueued, domain.StateProvisioning), domain.StateFailed},
		{"MarkCompensationFailed", func(e domain.Environment) (domain.Environment, error) {
			return e.MarkCompensationFailed("drop db: timeout", at)
		}, all(domain.StateProvisioning, domain.StateUpdating, domain.StateDecommissioning), domain.StateCompensationFailed},
		{"BeginUpdate", func(e domain.Environment) (domain.Environment, error) {
			return e.BeginUpdate(pv, map[string]any{"branch": "feature"}, "op-2", "bob", at)
		}, all(domain.StateReady, domain.StateDegraded), domain.StateUpdating},
		{"BeginTeardown", func(e domain.Environment) (domain.Environment, error) { return e.BeginTeardown("op-3", "by bob", at) },
			all(domain.StateRequested, domain.StateQueued, domain.StateReady, domain.StateDegraded,
				domain.StateExpiring, domain.StateCompensationFailed, domain.StateFailed), domain.StateDecommissioning},
		{"MarkDeleted", func(e domain.Environment) (domain.Environment, error) { return e.MarkDeleted(at) },
			all(domain.StateDecommissioning, domain.StateFailed), domain.StateDeleted},
		{"Heal", func(e domain.Environment) (domain.Environment, error) { return e.Heal("compensated after all", at) },
			all(domain.StateCompensationFailed), domain.StateFailed},
		{"Expiring", func(e domain.Environment) (domain.Environment, error) { return e.Expiring(at) },
			all(domain.StateReady), domain.StateExpiring},
		{"Expire", func(e domain.Environment) (domain.Environment, error) { return e.Expire("op-4", at) },
			all(domain.StateReady, domain.StateExpiring, domain.StateDegraded), domain.StateDecommissioning},
	}
}

// TestEveryActionFromEveryState runs each action from each state: legal
// ones reach their state; the others are refused with a TransitionError
// and leave the environment as it was.
func TestEveryActionFromEveryState(t *testing.T) {
	base := newEnv(t, "pv", nil)
	for _, a := range actions(t) {
		for _, from := range domain.States() {
			env := base
			env.State = from
			legal := slices.Contains(a.from, from)

			got, err := a.call(env)

			var terr *domain.TransitionError
			assert.Equal(t, !legal, errors.As(err, &terr), "%s from %s: %v", a.name, from, err)
			assert.Equal(t, legal, err == nil, "%s from %s: %v", a.name, from, err)
			assert.Equal(t, pick(legal, a.to, from), got.State, "%s from %s", a.name, from)
			assert.Equal(t, pick(legal, got, env), got, "%s from %s: refused actions change nothing", a.name, from)
		}
	}
}

func pick[T any](cond bool, yes, no T) T {
	if cond {
		return yes
	}
	return no
}

func TestTransitionErrorNamesTheMove(t *testing.T) {
	env := newEnv(t, "pv", nil)
	_, err := env.MarkDeleted(t0)
	assert.EqualError(t, err, "environment env-abcdefgh2345: mark deleted: illegal transition from requested to deleted")
	_, err = env.MarkReady(t0)
	assert.ErrorIs(t, err, domain.ErrIllegalTransition)
}

func TestBeginUpdateStartsARevision(t *testing.T) {
	env, err := newEnv(t, "svc", map[string]any{"service": "shop"}).Queue("platform", t0)
	require.NoError(t, err)
	env, err = env.MarkProvisioning(t0)
	require.NoError(t, err)
	env, err = env.MarkReady(t0.Add(time.Minute))
	require.NoError(t, err)
	require.Nil(t, env.Operation)
	tpl := svcTemplate(t, "1.1.0")

	next, err := env.BeginUpdate(tpl, map[string]any{"service": "shop", "size": "large"}, "op-2", "bob", t0.Add(time.Hour))
	require.NoError(t, err)

	assert.Equal(t, domain.StateUpdating, next.State)
	assert.Equal(t, 2, next.Revision)
	assert.Equal(t, "large", next.Parameters["size"])
	assert.Equal(t, "small", next.Revisions[0].Parameters["size"], "history keeps the old parameters")
	assert.Equal(t, domain.Revision{Number: 2, Parameters: next.Parameters, CreatedAt: t0.Add(time.Hour), By: "bob"}, next.Revisions[1])
	assert.Equal(t, &domain.Operation{ID: "op-2", Kind: domain.OpUpdate, StartedAt: t0.Add(time.Hour), FromRevision: 1}, next.Operation)
	assert.Len(t, env.Revisions, 1, "the receiver is not changed")

	done, err := next.MarkReady(t0.Add(2 * time.Hour))
	require.NoError(t, err)
	assert.Nil(t, done.Operation)
	assert.Equal(t, t0.Add(2*time.Hour), done.UpdatedAt)
}

func TestBeginUpdateRefusesBadParametersAndOtherVersions(t *testing.T) {
	env := newEnv(t, "svc", map[string]any{"service": "shop"})
	env.State = domain.StateReady
	tests := []struct {
		name   string
		tpl    domain.Template
		params map[string]any
		want   []domain.FieldError
	}{
		{"bad parameter", svcTemplate(t, "1.1.0"), map[string]any{"service": "shop", "size": "xl"},
			[]domain.FieldError{{Field: "parameters.size", Message: `"xl" is not one of "small", "medium", "large"`}}},
		{"other version", svcTemplate(t, "1.0.0"), map[string]any{"service": "shop"},
			[]domain.FieldError{{Field: "template", Message: "environment runs svc@1.1.0, not svc@1.0.0"}}},
	}
	for _, tt := range tests {
		got, err := env.BeginUpdate(tt.tpl, tt.params, "op-2", "bob", t0)
		var verr *domain.ValidationError
		require.ErrorAs(t, err, &verr, tt.name)
		assert.Equal(t, tt.want, verr.Fields, tt.name)
		assert.Equal(t, env, got, tt.name)
	}
}

func TestFailureStatesKeepTheReason(t *testing.T) {
	env := newEnv(t, "svc", map[string]any{"service": "shop"})
	failed, err := env.MarkFailed("budget exceeded", t0)
	require.NoError(t, err)
	assert.Equal(t, "budget exceeded", failed.Reason)
	assert.Nil(t, failed.Operation)

	env.State = domain.StateDecommissioning
	stuck, err := env.MarkCompensationFailed("drop db: permission denied", t0)
	require.NoError(t, err)
	assert.Equal(t, "drop db: permission denied", stuck.Reason)
	assert.Equal(t, env.Operation, stuck.Operation, "the failed operation stays visible")

	retry, err := stuck.BeginTeardown("op-9", "operator retry", t0)
	require.NoError(t, err)
	assert.Equal(t, &domain.Operation{ID: "op-9", Kind: domain.OpTeardown, StartedAt: t0}, retry.Operation)
}

func TestRecordResource(t *testing.T) {
	env := newEnv(t, "svc", map[string]any{"service": "shop"})
	next, err := env.RecordResource("db", domain.ResourceReady, map[string]string{"host": "db.local"}, t0.Add(time.Minute))
	require.NoError(t, err)
	db, ok := next.Resource("db")
	require.True(t, ok)
	assert.Equal(t, domain.ResourceReady, db.State)
	assert.Equal(t, map[string]string{"host": "db.local"}, db.Outputs)
	before, _ := env.Resource("db")
	assert.Equal(t, domain.ResourcePending, before.State, "the receiver is not changed")

	_, err = env.RecordResource("nope", domain.ResourceReady, nil, t0)
	assert.ErrorIs(t, err, domain.ErrUnknownResource)
}

func TestEnvironmentJSONRoundTrip(t *testing.T) {
	env := newEnv(t, "svc", map[string]any{"service": "shop", "replicas": 3})
	data, err := json.Marshal(env)
	require.NoError(t, err)
	var back domain.Environment
	require.NoError(t, json.Unmarshal(data, &back))
	assert.Equal(t, env, back)
	assert.Equal(t, json.Number("3"), back.Parameters["replicas"])
}

// A failed environment is deleted at once when it holds nothing, and its
// name is free; one that still holds a resource must be torn down first.
func TestFailedEnvironmentIsDeletedOrTornDownByWhatItHolds(t *testing.T) {
	env := newEnv(t, "svc", map[string]any{"service": "shop"})
	failed, err := env.MarkFailed("over budget", t0)
	require.NoError(t, err)
	assert.False(t, failed.HoldsResources())
	assert.True(t, failed.NameFree(), "a failed environment that holds nothing frees its name")
	gone, err := failed.MarkDeleted(t0)
	require.NoError(t, err)
	assert.Equal(t, domain.StateDeleted, gone.State)

	leftover, err := failed.RecordResource("db", domain.ResourceFailed, nil, t0)
	require.NoError(t, err)
	assert.True(t, leftover.HoldsResources())
	assert.False(t, leftover.NameFree(), "its name stays while something may exist")
	_, err = leftover.MarkDeleted(t0)
	assert.ErrorIs(t, err, domain.ErrIllegalTransition)
	teardown, err := leftover.BeginTeardown("op-2", "delete", t0)
	require.NoError(t, err)
	assert.Equal(t, domain.StateDecommissioning, teardown.State)
}

func TestHealEndsAFailedCompensationByTheOperationItUndid(t *testing.T) {
	env := newEnv(t, "svc", map[string]any{"service": "shop"})
	env.State = domain.StateCompensationFailed
	healed, err := env.Heal("compensated", t0)
	require.NoError(t, err)
	assert.Equal(t, domain.StateFailed, healed.State, "a create's undo done: failed, fully compensated")
	assert.Nil(t, healed.Operation)

	env.Operation = &domain.Operation{ID: "op-2", Kind: domain.OpUpdate}
	healed, err = env.Heal("update rolled back", t0)
	require.NoError(t, err)
	assert.Equal(t, domain.StateDegraded, healed.State, "an update's undo done: the previous revision runs")

	env.Operation = &domain.Operation{ID: "op-3", Kind: domain.OpTeardown}
	_, err = env.Heal("x", t0)
	assert.ErrorIs(t, err, domain.ErrIllegalTransition, "a teardown heals by running again")
}

// A rolled-back update leaves the environment on the revision it started
// from: its number and parameters; the history keeps the failed one,
// marked, and the next update gets a number of its own.
func TestRolledBackUpdateRestoresTheRevisionItStartedFrom(t *testing.T) {
	pv := parse(t, pvYAML)
	env := newEnv(t, "pv", nil)
	env.State = domain.StateReady
	updating, err := env.BeginUpdate(pv, map[string]any{"branch": "feature"}, "op-2", "bob", t0)
	require.NoError(t, err)

	back, err := updating.MarkRolledBack("update to revision 2 rolled back: no", t0)
	require.NoError(t, err)

	assert.Equal(t, domain.StateDegraded, back.State)
	assert.Equal(t, 1, back.Revision)
	assert.Equal(t, env.Parameters, back.Parameters)
	require.Len(t, back.Revisions, 2)
	assert.True(t, back.Revisions[1].RolledBack)
	assert.Nil(t, back.Operation)
	assert.Equal(t, 3, back.NextRevision())
	_, err = env.MarkRolledBack("x", t0)
	assert.ErrorIs(t, err, domain.ErrIllegalTransition, "only an update rolls back")
}
