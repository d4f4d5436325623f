package automate

import (
	"context"
	"encoding/json"
	"net/http"
	"testing"
	"time"

	"github.com/cloudevents/sdk-go/v2/event"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/pave-platform/pave/pkg/bus"
	"github.com/pave-platform/pave/pkg/events"
	"github.com/pave-platform/pave/pkg/kv"
	"github.com/pave-platform/pave/pkg/rpc"
	"github.com/pave-platform/pave/pkg/testkit"
)

func day(d, h, m int) time.Time { return time.Date(2026, 1, d, h, m, 0, 0, time.UTC) }

const (
	c1 = "1111111111111111111111111111111111111111"
	c2 = "2222222222222222222222222222222222222222"
	c3 = "3333333333333333333333333333333333333333"
	c4 = "4444444444444444444444444444444444444444"
)

func ev(t *testing.T, id, typ string, at time.Time, data any) event.Event {
	t.Helper()
	e, err := bus.NewEvent(id, "test/dora", typ, data)
	require.NoError(t, err)
	e.SetTime(at)
	return e
}

func promo(t *testing.T, typ, id, stage, commit string, seq int, at time.Time) event.Event {
	return ev(t, id+"/"+string(rune('0'+seq)), typ, at, events.PromotionChanged{PromotionID: id, Application: "shop", Team: "payments",
		ToStage: stage, EnvironmentID: "env-x", Commit: commit, By: "alice", State: "x", Gates: []events.PromotionGate{}, Approvals: []string{}, Seq: seq, At: at})
}

func push(t *testing.T, commit string, at time.Time) event.Event {
	return ev(t, "push-"+commit[:4]+at.Format("0102"), events.TypeGitPushed, at, events.GitPushed{Provider: "github", Repository: "acme/shop",
		Team: "payments", Application: "shop", Branch: "main", Commit: commit, DefaultBranch: true, DeliveryID: "d", Sender: "alice"})
}

func incident(t *testing.T, typ, id string, at time.Time) event.Event {
	return ev(t, typ+id+at.String(), typ, at, events.Incident{IncidentID: id, Provider: "pagerduty", Team: "payments", Application: "shop", Stage: "prod", At: at})
}

func recorded(t *testing.T, id, env, state, commit string, at time.Time) event.Event {
	return ev(t, id, events.TypeDeploymentRecorded, at, events.DeploymentRecorded{Provider: "github", Repository: "acme/shop", Team: "payments",
		Application: "shop", Commit: commit, Environment: env, State: state, DeliveryID: id})
}

// TestDoraReplaysASequenceToExactMetrics folds a fixed history and checks
// all four metrics to the second; replaying duplicates (a resent
// rollback, an edited incident, a repeated push webhook) changes nothing.
func TestDoraReplaysASequenceToExactMetrics(t *testing.T) {
	ctx := context.Background()
	js := testkit.NATS(t).JetStream(t)
	table, err := kv.Open[Fact](ctx, js, DoraSpec(1))
	require.NoError(t, err)
	d := NewDora(table, DoraConfig{ProductionStages: []string{"prod"}, FailureWindow: 24 * time.Hour})

	history := []event.Event{
		push(t, c1, day(1, 0, 0)), push(t, c2, day(2, 0, 0)), push(t, c3, day(3, 0, 0)),
		promo(t, events.TypePromotionApplied, "p1", "prod", c1, 1, day(1, 2, 0)),
		promo(t, events.TypePromotionPromoted, "p1", "prod", c1, 2, day(1, 2, 10)),
		promo(t, events.TypePromotionApplied, "p2", "prod", c2, 1, day(2, 6, 0)),
		promo(t, events.TypePromotionRolledBack, "p2", "prod", c2, 2, day(2, 6, 30)),
		promo(t, events.TypePromotionApplied, "p3", "prod", c3, 1, day(3, 1, 0)),
		promo(t, events.TypePromotionPromoted, "p3", "prod", c3, 2, day(3, 1, 5)),
		incident(t, events.TypeIncidentOpened, "PD1", day(3, 5, 0)),
		incident(t, events.TypeIncidentResolved, "PD1", day(3, 7, 0)),
		promo(t, events.TypePromotionApplied, "p4", "prod", c4, 1, day(5, 0, 0)),
		promo(t, events.TypePromotionPromoted, "p4", "prod", c4, 2, day(5, 0, 5)),
		promo(t, events.TypePromotionPromoted, "p5", "staging", c4, 2, day(6, 0, 0)), // not production
		recorded(t, "dr-1", "staging", "failure", c4, day(6, 1, 0)),                  // not production
		recorded(t, "dr-2", "prod", "failure", c1, day(8, 0, 0)),                     // a week after p1: outside the window
		promo(t, events.TypePromotionPromoted, "p0", "prod", c1, 2, day(12, 0, 0)),   // after the window
	}
	for _, e := range history {
		require.NoError(t, d.Fold(ctx, e), e.Type())
	}
	want := map[string]any{
		"deployments": 4.0, "deployment_frequency_per_day": 0.4,
		// 1h (p3), 2h (p1), 6h (p2): the median is 2h.
		"lead_time_seconds": 7200.0, "lead_time_samples": 3.0,
		// p2 was rolled back; p3 was followed by incident PD1 within 24h.
		"failed_deployments": 2.0, "change_failure_rate": 0.5,
		// PD1 2h; p3 → p4 47h; p2 (rolled back 06:30) → p4 65h30m.
		"time_to_restore_seconds": 169200.0, "time_to_restore_samples": 3.0,
	}
	query := rpc.Request{Query: map[string]string{"team": "payments", "application": "shop",
		"from": day(1, 0, 0).Format(time.RFC3339), "to": day(11, 0, 0).Format(time.RFC3339)}}
	assert.Equal(t, want, metricsOf(t, d.Answer(ctx, query)))

	duplicates := []event.Event{
		history[6], // the same rollback, delivered again
		incident(t, events.TypeIncidentOpened, "PD1", day(3, 6, 0)), // PD1 edited: opened again, later
		push(t, c1, day(1, 1, 0)),                                   // the push webhook repeated, later
		history[4],
	}
	for _, e := range duplicates {
		require.NoError(t, d.Fold(ctx, e), e.Type())
	}
	assert.Equal(t, want, metricsOf(t, d.Answer(ctx, query)), "duplicates changed the metrics")

	team := rpc.Request{Query: map[string]string{"team": "payments", "from": query.Query["from"], "to": query.Query["to"]}}
	assert.Equal(t, want, metricsOf(t, d.Answer(ctx, team)), "the team has one application")

	bad := d.Answer(ctx, rpc.Request{Query: map[string]string{"team": "payments", "from": "yesterday"}})
	require.Equal(t, http.StatusUnprocessableEntity, bad.Status)
	assert.Equal(t, "from", bad.Problem.Errors[0].Field)
}

func metricsOf(t *testing.T, rep rpc.Reply) map[string]any {
	t.Helper()
	require.Equal(t, http.StatusOK, rep.Status, "%+v", rep.Problem)
	var out struct {
		Metrics map[string]any `json:"metrics"`
	}
	require.NoError(t, json.Unmarshal(rep.Body, &out))
	return out.Metrics
}
