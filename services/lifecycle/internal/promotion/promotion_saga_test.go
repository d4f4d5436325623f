package promotion_test

import (
	"context"
	"encoding/json"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/cloudevents/sdk-go/v2/event"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/pave-platform/pave/pkg/authn"
	"github.com/pave-platform/pave/pkg/bus"
	"github.com/pave-platform/pave/pkg/events"
	"github.com/pave-platform/pave/pkg/saga"
	"github.com/pave-platform/pave/pkg/schema"
	"github.com/pave-platform/pave/pkg/testkit"
	"github.com/pave-platform/pave/services/lifecycle/internal/adapters"
	"github.com/pave-platform/pave/services/lifecycle/internal/app"
	"github.com/pave-platform/pave/services/lifecycle/internal/apptest"
	"github.com/pave-platform/pave/services/lifecycle/internal/domain"
	"github.com/pave-platform/pave/services/lifecycle/internal/promotion"
)

const (
	shaA = "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
	shaB = "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb"
)

var (
	dev   = authn.Principal{ID: "alice", Kind: "user", Teams: []string{"payments"}, TeamRoles: map[string]string{"payments": "developer"}}
	bob   = authn.Principal{ID: "bob", Kind: "user", Teams: []string{"payments"}, TeamRoles: map[string]string{"payments": "developer"}}
	carol = authn.Principal{ID: "carol", Kind: "user", Teams: []string{"payments"}, TeamRoles: map[string]string{"payments": "maintainer"}}
)

// policy is the access decision the tests set: the real access service
// is exercised by the CLI's integration test.
type policy func(p authn.Principal, action string, res promotion.AccessResource) (bool, string)

func (f policy) Authorize(_ context.Context, p authn.Principal, action string, res promotion.AccessResource) (bool, string, error) {
	ok, why := f(p, action, res)
	return ok, why, nil
}

// promotionHarness is the lifecycle service with promotions on an
// embedded JetStream: commands to lifecycle and saga progress are read
// back from their streams and handed to the handlers, provisioning's
// answers are made up by the test.
type promotionHarness struct {
	*apptest.Harness
	promoter *promotion.Promoter
	allow    bool
	seen     map[string]uint64
	// hold keeps the ends of environment sagas from the environment
	// service (held) so that a promotion sees the target still updating.
	hold bool
	held []event.Event
}

func newPromotionHarness(t *testing.T) *promotionHarness {
	t.Helper()
	return newPromotionHarnessWith(t, promotion.PromotionPolicy{ApprovalTimeout: time.Hour, VerifyTimeout: time.Minute,
		StepTimeout: time.Minute, Retry: saga.RetryPolicy{MaxAttempts: 3, Backoff: time.Millisecond}})
}

func newPromotionHarnessWith(t *testing.T, pp promotion.PromotionPolicy) *promotionHarness {
	t.Helper()
	return newPromotionHarnessOn(t, pp, apptest.ShopCatalog(t))
}

// newPromotionHarnessOn runs the promotions on a catalog of shop templates.
func newPromotionHarnessOn(t *testing.T, pp promotion.PromotionPolicy, cat *domain.Catalog) *promotionHarness {
	t.Helper()
	ctx := context.Background()
	reg, err := schema.Default()
	require.NoError(t, err)
	b, err := bus.New(testkit.NATS(t).Conn(t), reg, schema.SubjectFor)
	require.NoError(t, err)
	js := b.JetStream()
	opts := bus.DefaultStreamOptions()
	streams := bus.CoreStreams(opts)
	for _, s := range []string{"lifecycle", "provisioning", "scheduler"} {
		streams = append(streams, bus.ServiceStreams(s, opts)...)
	}
	require.NoError(t, bus.EnsureStreams(ctx, js, streams...))
	envs, err := adapters.NewKVEnvironments(ctx, js, 1)
	require.NoError(t, err)
	store, err := adapters.NewKVPromotions(ctx, js, 1)
	require.NoError(t, err)
	p := app.DefaultStepPolicy()
	p.GrantCredentials, p.CostCheck = false, false
	eng, err := saga.NewEngine(ctx, js, b, "LIFECYCLE_SAGAS", append(app.Definitions(cat, p), promotion.PromotionSaga(pp)))
	require.NoError(t, err)
	svc := app.NewService(envs, eng, cat, "platform", b, slog.New(slog.DiscardHandler))
	ph := &promotionHarness{Harness: &apptest.Harness{JS: js, Eng: eng, Svc: svc}, allow: true, seen: map[string]uint64{}}
	ph.promoter = promotion.NewPromoter(svc, store.Applications(), store, store,
		policy(func(authn.Principal, string, promotion.AccessResource) (bool, string) {
			if ph.allow {
				return true, ""
			}
			return false, "forbidden by policy production-needs-maintainer"
		}), eng, b, pp, slog.New(slog.DiscardHandler))
	require.NoError(t, ph.promoter.LoadApplications(ctx, []domain.Application{{Name: "shop", Team: "payments", Stages: []domain.PipelineStage{
		{Name: "dev", Environment: "shop-dev", Gates: domain.Gates{ApproverRole: "maintainer"}},
		{Name: "staging", Environment: "shop-staging", Gates: domain.Gates{CI: true, ApproverRole: "maintainer"}},
		{Name: "prod", Environment: "shop-prod", Gates: domain.Gates{CI: true, Approvals: 1, ApproverRole: "maintainer"}},
	}}}))
	return ph
}

// ready creates a ready environment of the shop template running commit.
func (h *promotionHarness) ready(t *testing.T, name, commit string, params map[string]any) domain.Environment {
	t.Helper()
	env, err := h.Svc.CreateWithCommit(context.Background(), apptest.Alice, domain.CreateRequest{Team: "payments", Name: name,
		Template: "shop", Parameters: params}, commit)
	require.NoError(t, err)
	createID := app.SagaID(env.ID, app.OpCreate, 1)
	require.NoError(t, h.Scheduler(t, events.TypeWorkloadAdmitted, events.WorkloadAdmitted{WorkloadID: env.ID,
		Saga: apptest.Ref(createID, "admit", 1, false), At: apptest.At}))
	h.Provisioning(t, events.TypeResourceProvisioned, createID, "provision-db", "db")
	h.Provisioning(t, events.TypeResourceProvisioned, createID, "provision-app", "app")
	require.NoError(t, h.Scheduler(t, events.TypeWorkloadSettled, events.WorkloadSettled{WorkloadID: env.ID,
		Saga: apptest.Ref(createID, "settle", 1, false), At: apptest.At}))
	h.Reconcile(t)
	env = h.Env(t, env.ID)
	require.Equal(t, domain.StateReady, env.State)
	return env
}

// messages hands every message of stream on subject published since the
// last call to handle.
func (h *promotionHarness) messages(t *testing.T, stream, subject string, handle func(event.Event) error) int {
	t.Helper()
	ctx := context.Background()
	st, err := h.JS.Stream(ctx, stream)
	require.NoError(t, err)
	info, err := st.Info(ctx)
	require.NoError(t, err)
	n := 0
	for seq := max(h.seen[stream]+1, info.State.FirstSeq); seq <= info.State.LastSeq; seq++ {
		h.seen[stream] = seq
		m, err := st.GetMsg(ctx, seq)
		if err != nil || m.Subject != subject {
			continue
		}
		e, err := bus.Decode(m.Header, m.Data)
		require.NoError(t, err)
		require.NoError(t, handle(e), "%s %s", e.Type(), e.ID())
		n++
	}
	return n
}

// settle runs the promotion's own commands and reacts to saga progress
// until nothing new happens.
func (h *promotionHarness) settle(t *testing.T) {
	t.Helper()
	ctx := context.Background()
	for range 50 {
		n := h.messages(t, "CMD_LIFECYCLE", "pave.cmd.lifecycle.promote", func(e event.Event) error {
			return h.promoter.HandlePromoteCommand(ctx, e)
		})
		n += h.messages(t, "EVT_LIFECYCLE", "pave.evt.lifecycle.saga.progressed", func(e event.Event) error {
			if h.hold {
				h.held = append(h.held, e)
			} else if err := h.Svc.HandleSagaProgress(ctx, e); err != nil {
				return err
			}
			return h.promoter.HandleSagaProgress(ctx, e)
		})
		if n == 0 {
			return
		}
	}
	t.Fatal("promotion did not settle")
}

// answerUpdate answers the update saga of env's revision n: every
// resource updated, or app failing (app, then db, is then put back as the
// previous revision had it).
func (h *promotionHarness) answerUpdate(t *testing.T, envID string, n int, fail bool) {
	t.Helper()
	id := app.SagaID(envID, app.OpUpdate, n)
	h.Provisioning(t, events.TypeResourceUpdated, id, "update-db", "db")
	if !fail {
		h.Provisioning(t, events.TypeResourceUpdated, id, "update-app", "app")
		return
	}
	data := map[string]any{"saga": apptest.Ref(id, "update-app", 1, false), "environment_id": envID,
		"resource_id": domain.ResourceID(envID, "app"), "reason": "image shop:broken does not start", "retryable": false}
	require.NoError(t, h.Svc.HandleProvisioningResult(h.Eng)(context.Background(), h.Event(t, events.TypeResourceFailed, data)))
	h.Answer(t, events.TypeResourceUpdated, apptest.Ref(id, "update-app", 1, true), "app")
	data = map[string]any{"saga": apptest.Ref(id, "update-db", 1, true), "environment_id": envID,
		"resource_id": domain.ResourceID(envID, "db"), "outputs": map[string]string{}}
	require.NoError(t, h.Svc.HandleProvisioningResult(h.Eng)(context.Background(), h.Event(t, events.TypeResourceUpdated, data)))
}

func (h *promotionHarness) ci(t *testing.T, commit, conclusion string) {
	t.Helper()
	require.NoError(t, h.promoter.HandleGatewayEvent(context.Background(), stampedFor("payments", h.Event(t, events.TypeCICompleted, events.CICompleted{
		Provider: "github", Repository: "acme/shop", Team: "payments", Application: "shop", Commit: commit,
		Conclusion: conclusion, Name: "build", URL: "https://ci.example/1", DeliveryID: "d-" + conclusion}))))
}

func (h *promotionHarness) promotion(t *testing.T, id string) promotion.PromotionRecord {
	t.Helper()
	r, err := h.promoter.GetPromotion(context.Background(), apptest.Alice, id)
	require.NoError(t, err)
	return r
}

// promotionEvents lists the types of the promotion events published.
func (h *promotionHarness) promotionEvents(t *testing.T, id string) []string {
	t.Helper()
	var out []string
	for _, e := range h.Commands(t, "EVT_LIFECYCLE") {
		if strings.HasPrefix(e.ID(), id+"/") && strings.HasPrefix(e.Type(), "dev.pave.lifecycle.promotion.") {
			out = append(out, strings.TrimSuffix(strings.TrimPrefix(e.Type(), "dev.pave.lifecycle.promotion."), ".v1"))
		}
	}
	return out
}

func TestPromotionWithCISuccessIsAppliedAndVerified(t *testing.T) {
	h := newPromotionHarness(t)
	src := h.ready(t, "shop-dev", shaA, map[string]any{})
	tgt := h.ready(t, "shop-staging", shaB, map[string]any{})
	h.ci(t, shaA, "failure")
	h.ci(t, shaA, "success")

	rec, err := h.promoter.Request(context.Background(), dev, promotion.PromotionRequest{Application: "shop", To: "staging"})
	require.NoError(t, err)
	assert.Equal(t, "dev", rec.FromStage, "defaults to the previous stage's current revision")
	assert.Equal(t, src.ID, rec.SourceEnvironment)
	assert.Equal(t, shaA, rec.Commit)
	h.settle(t)
	require.Equal(t, domain.PromotionApplying, h.promotion(t, rec.ID).State)

	h.answerUpdate(t, tgt.ID, 2, false)
	h.settle(t)

	got := h.promotion(t, rec.ID)
	assert.Equal(t, domain.PromotionPromoted, got.State, got.Reason)
	assert.Equal(t, 2, got.AppliedRevision)
	assert.Equal(t, []domain.GateResult{
		{Gate: "ci", Passed: true, Detail: "build succeeded for aaaaaaaaaaaa"},
		{Gate: "policy", Passed: true, Detail: "alice may promote into shop-staging (stage dev)"},
		{Gate: "approvals", Passed: true, Detail: "none required"},
	}, got.Results)
	env := h.Env(t, tgt.ID)
	assert.Equal(t, domain.StateReady, env.State)
	assert.Equal(t, shaA, env.Commit(), "the target runs the promoted commit")
	assert.Contains(t, env.Revisions[1].By, "alice via promotion "+rec.ID)
	assert.Equal(t, []string{"requested", "checked", "applied", "promoted"}, h.promotionEvents(t, rec.ID))
}

func TestPromotionGatesRejectWithTheReason(t *testing.T) {
	tests := []struct {
		name       string
		ci         string
		allow      bool
		wantReason string
	}{
		{"no ci success", "failure", true, "step gates: ci gate: no successful CI run for commit " + shaA + ": [build=failure]"},
		{"policy refuses", "success", false, "step gates: policy gate: alice may not promote into shop-staging (stage dev): forbidden by policy production-needs-maintainer"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newPromotionHarness(t)
			h.ready(t, "shop-dev", shaA, map[string]any{})
			tgt := h.ready(t, "shop-staging", shaB, map[string]any{})
			h.ci(t, shaA, tt.ci)
			h.allow = tt.allow

			rec, err := h.promoter.Request(context.Background(), dev, promotion.PromotionRequest{Application: "shop", To: "staging", Commit: shaA})
			require.NoError(t, err)
			h.settle(t)

			got := h.promotion(t, rec.ID)
			assert.Equal(t, domain.PromotionRejected, got.State)
			assert.Equal(t, tt.wantReason, got.Reason)
			assert.Equal(t, 1, h.Env(t, tgt.ID).Revision, "nothing was applied")
			assert.Equal(t, []string{"requested", "checked", "rejected"}, h.promotionEvents(t, rec.ID))
		})
	}
}

func TestPromotionWaitsForAnApproverWhoIsNotThePromoter(t *testing.T) {
	h := newPromotionHarness(t)
	h.ready(t, "shop-staging", shaA, map[string]any{})
	tgt := h.ready(t, "shop-prod", shaB, map[string]any{})
	h.ci(t, shaA, "success")
	ctx := context.Background()

	rec, err := h.promoter.Request(ctx, dev, promotion.PromotionRequest{Application: "shop", To: "prod"})
	require.NoError(t, err)
	h.settle(t)
	require.Equal(t, domain.PromotionAwaitingApproval, h.promotion(t, rec.ID).State)

	_, err = h.promoter.Approve(ctx, dev, rec.ID)
	assert.ErrorIs(t, err, domain.ErrSelfApproval)
	_, err = h.promoter.Approve(ctx, bob, rec.ID)
	assert.ErrorIs(t, err, domain.ErrApproverRole, "prod wants a maintainer")
	_, err = h.promoter.Approve(ctx, authn.Principal{ID: "mallory", Teams: []string{"other"}}, rec.ID)
	assert.ErrorIs(t, err, promotion.ErrPromotionNotFound, "another team does not see it")
	h.settle(t)
	assert.Equal(t, domain.PromotionAwaitingApproval, h.promotion(t, rec.ID).State)
	assert.Equal(t, 1, h.Env(t, tgt.ID).Revision)

	_, err = h.promoter.Approve(ctx, carol, rec.ID)
	require.NoError(t, err)
	h.settle(t)
	h.answerUpdate(t, tgt.ID, 2, false)
	h.settle(t)

	got := h.promotion(t, rec.ID)
	assert.Equal(t, domain.PromotionPromoted, got.State, got.Reason)
	require.Len(t, got.Approvals, 1)
	assert.Equal(t, "carol", got.Approvals[0].By)
	assert.Equal(t, []string{"requested", "checked", "waiting", "approved", "applied", "promoted"}, h.promotionEvents(t, rec.ID))
}

func TestFailedApplyRollsBackToThePreviousRevision(t *testing.T) {
	h := newPromotionHarness(t)
	h.ready(t, "shop-dev", shaA, map[string]any{})
	tgt := h.ready(t, "shop-staging", shaB, map[string]any{})
	h.ci(t, shaA, "success")

	rec, err := h.promoter.Request(context.Background(), dev, promotion.PromotionRequest{Application: "shop", To: "staging", Commit: shaA})
	require.NoError(t, err)
	h.settle(t)
	h.answerUpdate(t, tgt.ID, 2, true)
	h.settle(t)
	require.Equal(t, domain.PromotionRollingBack, h.promotion(t, rec.ID).State)

	h.answerUpdate(t, tgt.ID, 3, false)
	h.settle(t)

	got := h.promotion(t, rec.ID)
	assert.Equal(t, domain.PromotionRolledBack, got.State)
	assert.Contains(t, got.Reason, "step apply: update "+tgt.ID+".update.2 failed")
	assert.Contains(t, got.Reason, "image shop:broken does not start")
	env := h.Env(t, tgt.ID)
	assert.Equal(t, 3, env.Revision, "the rollback is a new revision")
	assert.Equal(t, shaB, env.Commit(), "with the previous revision's commit")
	assert.Equal(t, domain.StateReady, env.State)
	assert.Equal(t, []string{"requested", "checked", "rollingback", "rolledback"}, h.promotionEvents(t, rec.ID))

	hist, err := h.promoter.ListPromotions(context.Background(), apptest.Alice, "shop")
	require.NoError(t, err)
	require.Len(t, hist, 1)
	raw, err := json.Marshal(hist[0])
	require.NoError(t, err)
	assert.NotContains(t, string(raw), "outbox", "published events do not stay")
}

func TestPromotionRequestNamesBadFields(t *testing.T) {
	h := newPromotionHarness(t)
	h.ready(t, "shop-dev", shaA, map[string]any{})
	h.ready(t, "shop-staging", shaB, map[string]any{})
	tests := []struct {
		name  string
		give  promotion.PromotionRequest
		field string
	}{
		{"unknown application", promotion.PromotionRequest{Application: "nope", To: "staging"}, "application"},
		{"unknown stage", promotion.PromotionRequest{Application: "shop", To: "qa"}, "to"},
		{"stage without environment", promotion.PromotionRequest{Application: "shop", To: "prod"}, "to"},
		{"commit not in the previous stage", promotion.PromotionRequest{Application: "shop", To: "staging", Commit: shaB}, "commit"},
		{"unknown revision", promotion.PromotionRequest{Application: "shop", To: "staging", Revision: 7}, "revision"},
		{"first stage needs a commit", promotion.PromotionRequest{Application: "shop", To: "dev"}, "commit"},
		{"malformed commit", promotion.PromotionRequest{Application: "shop", To: "dev", Commit: "abc"}, "commit"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := h.promoter.Request(context.Background(), dev, tt.give)
			var verr *domain.ValidationError
			require.ErrorAs(t, err, &verr)
			assert.Equal(t, tt.field, verr.Fields[0].Field, verr.Error())
		})
	}
}

func TestUnapprovedPromotionIsRejectedWhenTheWaitTimesOut(t *testing.T) {
	h := newPromotionHarnessWith(t, promotion.PromotionPolicy{ApprovalTimeout: time.Millisecond, VerifyTimeout: time.Minute,
		StepTimeout: time.Minute, Retry: saga.RetryPolicy{MaxAttempts: 3, Backoff: time.Millisecond}})
	h.ready(t, "shop-staging", shaA, map[string]any{})
	tgt := h.ready(t, "shop-prod", shaB, map[string]any{})
	h.ci(t, shaA, "success")
	ctx := context.Background()
	rec, err := h.promoter.Request(ctx, dev, promotion.PromotionRequest{Application: "shop", To: "prod"})
	require.NoError(t, err)
	h.settle(t)
	require.Equal(t, domain.PromotionAwaitingApproval, h.promotion(t, rec.ID).State)

	// The engine's timer fires the approvals step's deadline.
	inst := h.Saga(t, rec.ID)
	require.Eventually(t, func() bool { return time.Now().After(inst.Deadline) }, time.Second, time.Millisecond)
	require.NoError(t, h.Eng.Deliver(ctx, rec.ID, saga.Timeout{Deadline: inst.Deadline}))
	h.settle(t)

	got := h.promotion(t, rec.ID)
	assert.Equal(t, domain.PromotionRejected, got.State)
	assert.Contains(t, got.Reason, "step approvals: attempt 1 timed out")
	assert.Contains(t, got.Results, domain.GateResult{Gate: "approvals", Detail: "waiting for 1 approval(s) by a maintainer or above, not alice"})
	assert.Equal(t, 1, h.Env(t, tgt.ID).Revision, "nothing was applied")
	_, err = h.promoter.Approve(ctx, carol, rec.ID)
	assert.ErrorIs(t, err, domain.ErrNotAwaiting, "a rejected promotion takes no approvals")
}

func TestPushesToTheDefaultBranchBecomeTheCandidate(t *testing.T) {
	h := newPromotionHarness(t)
	ctx := context.Background()
	push := func(commit string, defaultBranch bool, repo, application string) {
		t.Helper()
		require.NoError(t, h.promoter.HandleGatewayEvent(ctx, stampedFor("payments", h.Event(t, events.TypeGitPushed, events.GitPushed{
			Provider: "github", Repository: repo, Team: "payments", Application: application, Branch: "main",
			Commit: commit, DefaultBranch: defaultBranch, DeliveryID: "d-" + commit, Sender: "alice"}))))
	}
	c, err := h.promoter.Candidate(ctx, "shop")
	require.NoError(t, err)
	assert.Nil(t, c)

	push(shaA, true, "", "shop")
	push(shaB, false, "", "shop")
	c, err = h.promoter.Candidate(ctx, "shop")
	require.NoError(t, err)
	require.NotNil(t, c)
	assert.Equal(t, shaA, c.Commit, "a push to another branch is no candidate")

	require.NoError(t, h.promoter.LoadApplications(ctx, []domain.Application{{Name: "web", Team: "payments", Repository: "acme/web",
		Stages: []domain.PipelineStage{{Name: "dev", Environment: "web-dev"}}}}))
	push(shaB, true, "acme/web", "")
	c, err = h.promoter.Candidate(ctx, "web")
	require.NoError(t, err)
	require.NotNil(t, c, "linked by repository")
	assert.Equal(t, shaB, c.Commit)
	c, err = h.promoter.Candidate(ctx, "shop")
	require.NoError(t, err)
	assert.Equal(t, shaA, c.Commit, "another repository's push is not shop's")
}

func TestTargetNotHealthyInTimeIsRolledBack(t *testing.T) {
	h := newPromotionHarnessWith(t, promotion.PromotionPolicy{ApprovalTimeout: time.Hour, VerifyTimeout: time.Nanosecond,
		StepTimeout: time.Minute, Retry: saga.RetryPolicy{MaxAttempts: 3, Backoff: time.Millisecond}})
	h.ready(t, "shop-dev", shaA, map[string]any{})
	tgt := h.ready(t, "shop-staging", shaB, map[string]any{})
	h.ci(t, shaA, "success")
	ctx := context.Background()
	rec, err := h.promoter.Request(ctx, dev, promotion.PromotionRequest{Application: "shop", To: "staging"})
	require.NoError(t, err)
	h.settle(t)

	// The update completes, but the target is still not ready when it is
	// verified: verification gives up, and the rollback waits for the
	// target to take another update.
	h.hold = true
	h.answerUpdate(t, tgt.ID, 2, false)
	h.settle(t)
	require.Equal(t, domain.PromotionRollingBack, h.promotion(t, rec.ID).State)
	require.Equal(t, domain.StateUpdating, h.Env(t, tgt.ID).State)
	h.hold = false
	for _, e := range h.held {
		require.NoError(t, h.Svc.HandleSagaProgress(ctx, e))
	}
	inst := h.Saga(t, rec.ID)
	require.Equal(t, saga.StatusCompensating, inst.Status)
	require.Eventually(t, func() bool { return time.Now().After(inst.Deadline) }, time.Second, time.Millisecond)
	require.NoError(t, h.Eng.Deliver(ctx, rec.ID, saga.Timeout{Deadline: inst.Deadline}))
	h.settle(t)
	h.answerUpdate(t, tgt.ID, 3, false)
	h.settle(t)

	got := h.promotion(t, rec.ID)
	assert.Equal(t, domain.PromotionRolledBack, got.State)
	assert.Equal(t, "step verify: verify: not healthy within 1ns: environment shop-staging is updating", got.Reason)
	env := h.Env(t, tgt.ID)
	assert.Equal(t, 3, env.Revision)
	assert.Equal(t, shaB, env.Commit())
	assert.Equal(t, []string{"requested", "checked", "applied", "rollingback", "rolledback"}, h.promotionEvents(t, rec.ID))
}

func TestPromotionSagaSteps(t *testing.T) {
	pp := promotion.PromotionPolicy{ApprovalTimeout: 3 * time.Hour, VerifyTimeout: time.Minute, StepTimeout: time.Minute,
		ApplyTimeout: 20 * time.Minute, Retry: saga.RetryPolicy{MaxAttempts: 3, Backoff: time.Second}}
	d := promotion.PromotionSaga(pp)
	require.NoError(t, d.Validate())
	assert.Equal(t, []string{"gates", "approvals", "apply", "verify"}, apptest.StepNames(d))
	gates, approvals, apply, verify := d.Steps[0], d.Steps[1], d.Steps[2], d.Steps[3]
	assert.Nil(t, gates.Undo, "checking gates changes nothing")
	assert.Equal(t, 3*time.Hour, approvals.Timeout, "approvals wait up to the approval timeout")
	assert.Equal(t, 1, approvals.Retry.MaxAttempts, "an approval timeout is final")
	assert.NotNil(t, apply.Undo, "apply is undone by a rollback")
	assert.Equal(t, 20*time.Minute, apply.Timeout)
	assert.Equal(t, 10, apply.CompensationRetry.MaxAttempts, "a rollback is retried patiently")
	assert.Nil(t, verify.Undo)
	assert.Greater(t, verify.Retry.MaxAttempts, 100, "verify asks again until the verify timeout")
}
