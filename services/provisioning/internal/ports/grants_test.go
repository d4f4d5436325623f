package ports_test

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/pave-platform/pave/pkg/authn"
	"github.com/pave-platform/pave/pkg/bus"
	"github.com/pave-platform/pave/pkg/events"
	"github.com/pave-platform/pave/pkg/rpc"
	"github.com/pave-platform/pave/pkg/testkit"
	"github.com/pave-platform/pave/services/provisioning/internal/app"
	"github.com/pave-platform/pave/services/provisioning/internal/ports"
)

func TestGrantCredentialsRefusesBadRequestsNamingTheField(t *testing.T) {
	nc := testkit.NATS(t).Conn(t)
	svc, err := ports.ServeCredentials(nc, logins{}, testLogger(t), ports.GrantEndpoints(&app.Grants{}, &app.Drift{}, testLogger(t))...)
	require.NoError(t, err)
	t.Cleanup(func() { _ = svc.Stop() })
	tests := []struct {
		name  string
		give  rpc.Request
		want  int
		field string
	}{
		{"no environment", rpc.Request{Principal: authn.Principal{ID: "alice"}}, 400, "environment_id"},
		{"nobody", rpc.Request{Query: map[string]string{"environment_id": "env1"}}, 401, ""},
	}
	for _, tt := range tests {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		rep, err := rpc.Call(ctx, nc, rpc.GrantCredentials, tt.give)
		cancel()
		require.NoError(t, err, tt.name)
		assert.Equal(t, tt.want, rep.Status, tt.name)
		require.NotNil(t, rep.Problem, tt.name)
		if tt.field != "" {
			require.NotEmpty(t, rep.Problem.Errors, tt.name)
			assert.Equal(t, tt.field, rep.Problem.Errors[0].Field, tt.name)
		}
	}
}

func TestAGrantEventThatCanNeverApplyIsDeadLettered(t *testing.T) {
	h := ports.GrantEvents(&app.Grants{})
	tests := []struct {
		name string
		give any
	}{
		{"no principal", events.GrantActivated{GrantID: "g", Team: "payments", Role: "viewer", Scope: events.GrantScope{Kind: "team"}}},
		{"environment scope without environment", events.GrantActivated{GrantID: "g", Principal: "alice", Team: "payments",
			Role: "viewer", Scope: events.GrantScope{Kind: "environment"}}},
		{"not an object", "grant"},
	}
	for _, tt := range tests {
		e, err := bus.NewEvent("e-1", "pave/access", events.TypeGrantActivated, tt.give)
		require.NoError(t, err)
		assert.True(t, bus.IsPermanent(h(context.Background(), e)), tt.name)
	}
}
