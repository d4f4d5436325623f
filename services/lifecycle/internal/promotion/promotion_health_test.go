package promotion_test

import (
	"context"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/pave-platform/pave/services/lifecycle/internal/apptest"
	"github.com/pave-platform/pave/services/lifecycle/internal/domain"
	"github.com/pave-platform/pave/services/lifecycle/internal/promotion"
)

// Issue 19, finding 4: a degraded dev revision was promotable. A revision
// that is not healthy in its stage — rolled back there, or running in an
// environment that is not ready — is now refused, naming why; the
// revision that runs again after the rollback may be promoted.
func TestARevisionNotHealthyInItsStageCannotBePromoted(t *testing.T) {
	h := newPromotionHarness(t)
	ctx := context.Background()
	src := h.ready(t, "shop-dev", shaA, map[string]any{})
	h.ready(t, "shop-staging", shaB, map[string]any{})
	const shaC = "cccccccccccccccccccccccccccccccccccccccc"
	_, err := h.Svc.UpdateWithCommit(ctx, apptest.Alice, src.ID, map[string]any{}, shaC)
	require.NoError(t, err)
	h.answerUpdate(t, src.ID, 2, true)
	h.settle(t)
	require.Equal(t, domain.StateDegraded, h.Env(t, src.ID).State)
	h.ci(t, shaA, "success")
	h.ci(t, shaC, "success")

	tests := []struct {
		name  string
		req   promotion.PromotionRequest
		field string
		want  string
	}{
		{"its current revision, degraded", promotion.PromotionRequest{Application: "shop", To: "staging"},
			"to", "revision 1 of environment shop-dev is not healthy in stage dev: the environment is degraded"},
		{"the rolled-back revision", promotion.PromotionRequest{Application: "shop", To: "staging", Revision: 2},
			"revision", "revision 2 of environment shop-dev was rolled back in stage dev"},
		{"the rolled-back revision's commit", promotion.PromotionRequest{Application: "shop", To: "staging", Commit: shaC},
			"commit", "no revision of environment shop-dev (stage dev) runs this commit"},
	}
	for _, tt := range tests {
		_, err := h.promoter.Request(ctx, dev, tt.req)
		var verr *domain.ValidationError
		require.ErrorAs(t, err, &verr, tt.name)
		require.Len(t, verr.Fields, 1, tt.name)
		assert.Equal(t, tt.field, verr.Fields[0].Field, tt.name)
		assert.Contains(t, verr.Fields[0].Message, tt.want, tt.name)
	}
	list, err := h.promoter.ListPromotions(ctx, apptest.Alice, "shop")
	require.NoError(t, err)
	assert.Empty(t, list, "nothing refused is recorded or applied")
}
