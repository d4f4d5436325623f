package promotion_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/pave-platform/pave/pkg/events"
	"github.com/pave-platform/pave/pkg/saga"
	"github.com/pave-platform/pave/services/lifecycle/internal/app"
	"github.com/pave-platform/pave/services/lifecycle/internal/apptest"
	"github.com/pave-platform/pave/services/lifecycle/internal/domain"
	"github.com/pave-platform/pave/services/lifecycle/internal/promotion"
)

// probedShopCatalog is shop with a health check: app's url output, GET
// /healthz, must answer 200.
func probedShopCatalog(t *testing.T) *domain.Catalog {
	t.Helper()
	yaml := apptest.ShopYAML + "health_checks:\n  - {name: app-up, resource: app, output: url, path: /healthz}\n"
	tpl, err := domain.ParseTemplate("shop.yaml", []byte(yaml))
	require.NoError(t, err)
	require.Equal(t, []domain.HealthCheck{{Name: "app-up", Resource: "app", Output: "url", Path: "/healthz", Status: 200}}, tpl.HealthChecks)
	cat, err := domain.NewCatalog(tpl)
	require.NoError(t, err)
	return cat
}

// answerUpdateAt answers env's update n: db, then app reporting url.
func (h *promotionHarness) answerUpdateAt(t *testing.T, envID string, n int, url string) {
	t.Helper()
	id := app.SagaID(envID, app.OpUpdate, n)
	h.Provisioning(t, events.TypeResourceUpdated, id, "update-db", "db")
	data := map[string]any{"saga": apptest.Ref(id, "update-app", 1, false), "environment_id": envID,
		"resource_id": domain.ResourceID(envID, "app"), "outputs": map[string]string{"url": url}}
	require.NoError(t, h.Svc.HandleProvisioningResult(h.Eng)(context.Background(), h.Event(t, events.TypeResourceUpdated, data)))
}

// Issue 19, finding 4: verify checked only Pave's records. Now it probes
// the application: a health check that fails rolls the promotion back,
// one that passes lets it through.
func TestVerifyProbesTheApplicationsHealthCheck(t *testing.T) {
	var status atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/healthz" {
			http.NotFound(w, r)
			return
		}
		w.WriteHeader(int(status.Load()))
	}))
	t.Cleanup(srv.Close)
	ctx := context.Background()

	// The application answers 503: verify gives up (its timeout is 1ns) and
	// the target is rolled back.
	status.Store(http.StatusServiceUnavailable)
	h := newPromotionHarnessOn(t, promotion.PromotionPolicy{ApprovalTimeout: time.Hour, VerifyTimeout: time.Nanosecond,
		StepTimeout: time.Minute, Retry: saga.RetryPolicy{MaxAttempts: 3, Backoff: time.Millisecond}}, probedShopCatalog(t))
	h.ready(t, "shop-dev", shaA, map[string]any{})
	tgt := h.ready(t, "shop-staging", shaB, map[string]any{})
	h.ci(t, shaA, "success")
	rec, err := h.promoter.Request(ctx, dev, promotion.PromotionRequest{Application: "shop", To: "staging"})
	require.NoError(t, err)
	h.settle(t)
	h.answerUpdateAt(t, tgt.ID, 2, srv.URL)
	h.settle(t)
	h.answerUpdateAt(t, tgt.ID, 3, srv.URL)
	h.settle(t)
	got := h.promotion(t, rec.ID)
	assert.Equal(t, domain.PromotionRolledBack, got.State)
	assert.Contains(t, got.Reason, "health check app-up: GET "+srv.URL+"/healthz answered 503, want 200")
	assert.Equal(t, shaB, h.Env(t, tgt.ID).Commit(), "staging runs what it ran before")

	// The application answers 200: promoted.
	status.Store(http.StatusOK)
	h2 := newPromotionHarnessOn(t, promotion.PromotionPolicy{ApprovalTimeout: time.Hour, VerifyTimeout: time.Minute,
		StepTimeout: time.Minute, Retry: saga.RetryPolicy{MaxAttempts: 3, Backoff: time.Millisecond}}, probedShopCatalog(t))
	h2.ready(t, "shop-dev", shaA, map[string]any{})
	tgt2 := h2.ready(t, "shop-staging", shaB, map[string]any{})
	h2.ci(t, shaA, "success")
	rec2, err := h2.promoter.Request(ctx, dev, promotion.PromotionRequest{Application: "shop", To: "staging"})
	require.NoError(t, err)
	h2.settle(t)
	h2.answerUpdateAt(t, tgt2.ID, 2, srv.URL)
	h2.settle(t)
	ok := h2.promotion(t, rec2.ID)
	assert.Equal(t, domain.PromotionPromoted, ok.State, ok.Reason)
	assert.False(t, strings.Contains(ok.Reason, "health check"), ok.Reason)
}
