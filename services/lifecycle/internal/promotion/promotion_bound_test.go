package promotion_test

import (
	"context"
	"testing"

	"github.com/cloudevents/sdk-go/v2/event"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/pave-platform/pave/pkg/bus"
	"github.com/pave-platform/pave/pkg/events"
	"github.com/pave-platform/pave/services/lifecycle/internal/domain"
	"github.com/pave-platform/pave/services/lifecycle/internal/promotion"
)

// stampedFor is e as the gateway lets it in: bound to a sender who may
// speak for team.
func stampedFor(team string, e event.Event) event.Event {
	e.SetExtension(events.ExtPrincipal, team+"/ci")
	e.SetExtension(events.ExtTeam, team)
	return e
}

// Finding 3 of issue 16 at the gate: a successful CI result for team
// payments that the gateway did not bind to a sender of payments (none
// stamped, or stamped for another team) is dead-lettered, and the
// promotion still finds no successful run.
func TestAttackCIGateTrustsOnlyResultsBoundToTheTeam(t *testing.T) {
	h := newPromotionHarness(t)
	h.ready(t, "shop-dev", shaA, map[string]any{})
	tgt := h.ready(t, "shop-staging", shaB, map[string]any{})
	result := events.CICompleted{Provider: "ci", Repository: "acme/shop", Team: "payments", Application: "shop",
		Commit: shaA, Conclusion: "success", Name: "build", DeliveryID: "forged"}
	for name, e := range map[string]event.Event{
		"unstamped":       h.Event(t, events.TypeCICompleted, result),
		"another team's":  stampedFor("other", h.Event(t, events.TypeCICompleted, result)),
		"push, unstamped": h.Event(t, events.TypeGitPushed, events.GitPushed{Provider: "ci", Repository: "acme/shop", Team: "payments", Application: "shop", Branch: "main", Commit: shaA, DefaultBranch: true, DeliveryID: "p"}),
	} {
		err := h.promoter.HandleGatewayEvent(context.Background(), e)
		require.Error(t, err, name)
		assert.True(t, bus.IsPermanent(err), "%s: dead-lettered, not retried: %v", name, err)
	}
	rec, err := h.promoter.Request(context.Background(), dev, promotion.PromotionRequest{Application: "shop", To: "staging", Commit: shaA})
	require.NoError(t, err)
	h.settle(t)
	got := h.promotion(t, rec.ID)
	assert.Equal(t, domain.PromotionRejected, got.State)
	assert.Contains(t, got.Reason, "ci gate: no CI run recorded for commit "+shaA)
	assert.Equal(t, 1, h.Env(t, tgt.ID).Revision, "nothing was applied")
}
