package incidents_test

import (
	"context"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"testing/fstest"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/pave-platform/pave/pkg/authn"
	"github.com/pave-platform/pave/pkg/bus"
	"github.com/pave-platform/pave/pkg/events"
	"github.com/pave-platform/pave/pkg/policy"
	"github.com/pave-platform/pave/pkg/testkit"
	"github.com/pave-platform/pave/services/access/internal/incidents"
)

// policies are the shipped ones, with the break-glass example switched
// on when withExample.
func policies(t *testing.T, withExample bool) *policy.Engine {
	t.Helper()
	files, err := filepath.Glob("../../../../deploy/policies/*")
	require.NoError(t, err)
	fsys := fstest.MapFS{}
	for _, f := range files {
		raw, err := os.ReadFile(f)
		require.NoError(t, err)
		name := filepath.Base(f)
		if withExample && name == "break-glass-needs-open-incident.cedar.example" {
			name = strings.TrimSuffix(name, ".example")
		}
		fsys[name] = &fstest.MapFile{Data: raw}
	}
	p, err := policy.LoadFS(fsys, "deploy/policies")
	require.NoError(t, err)
	return policy.New(p)
}

// TestBreakGlassNeedsAnOpenIncidentWhenThePolicySaysSo: with the example
// policy, break-glass is refused until an incident of the team is
// opened, allowed while it is open, refused again once it is resolved;
// the shipped policies alone do not ask for one.
func TestBreakGlassNeedsAnOpenIncidentWhenThePolicySaysSo(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	js := testkit.NATS(t).JetStream(t)
	folder, err := incidents.Open(ctx, js, 1)
	require.NoError(t, err)
	open := policy.NewIncidents()
	watched := make(chan struct{})
	go func() { defer close(watched); folder.Watch(ctx, open, slog.New(slog.DiscardHandler)) }()
	t.Cleanup(func() { cancel(); <-watched })
	grants := policy.NewGrants(nil).WithIncidents(open)
	engine := policies(t, true)

	dev := authn.Principal{ID: "dave", Kind: authn.KindUser, Teams: []string{"payments"}, TeamRoles: map[string]string{"payments": "developer"}}
	breakGlass := policy.Request{Principal: dev, Action: "break-glass:activate", Resource: policy.TeamResource("payments")}
	decision := func() policy.Decision {
		req, _ := grants.Apply(breakGlass, time.Now())
		return engine.Decide(req)
	}
	refused := decision()
	assert.False(t, refused.Allowed, "no open incident")
	assert.Contains(t, refused.Policies, "break-glass-needs-open-incident")
	req, _ := grants.Apply(breakGlass, time.Now())
	assert.True(t, policies(t, false).Decide(req).Allowed, "the shipped policies let a developer break the glass")

	at := time.Date(2026, 1, 3, 5, 0, 0, 0, time.UTC)
	other := events.Incident{IncidentID: "Q1", Provider: "pagerduty", Team: "search", Stage: "prod", At: at}
	mine := events.Incident{IncidentID: "PT4KHLK", Provider: "pagerduty", Team: "payments", Stage: "prod", Title: "checkout errors", At: at}
	for _, in := range []events.Incident{other, mine} {
		e, err := bus.NewEvent("opened/"+in.IncidentID, "pave/gateway/incidents", events.TypeIncidentOpened, in)
		require.NoError(t, err)
		require.NoError(t, folder.Handle(ctx, e))
	}
	require.Eventually(t, func() bool { return decision().Allowed }, 10*time.Second, 20*time.Millisecond,
		"break-glass still refused with incident PT4KHLK of payments open")

	e, err := bus.NewEvent("resolved/PT4KHLK", "pave/gateway/incidents", events.TypeIncidentResolved, mine)
	require.NoError(t, err)
	require.NoError(t, folder.Handle(ctx, e))
	require.NoError(t, folder.Handle(ctx, e), "a repeated resolution is nothing")
	require.Eventually(t, func() bool { return !decision().Allowed }, 10*time.Second, 20*time.Millisecond,
		"break-glass still allowed after PT4KHLK was resolved (search's incident is not payments')")
}
