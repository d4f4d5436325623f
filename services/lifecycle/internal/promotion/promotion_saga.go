package promotion

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/cloudevents/sdk-go/v2/event"

	"github.com/pave-platform/pave/pkg/bus"
	"github.com/pave-platform/pave/pkg/events"
	"github.com/pave-platform/pave/pkg/saga"
	"github.com/pave-platform/pave/services/lifecycle/internal/app"
	"github.com/pave-platform/pave/services/lifecycle/internal/domain"
)

// PromotionDefinition names the promotion saga: check gates, wait for
// approvals, apply, verify; apply's compensation rolls the target back.
const PromotionDefinition = "promotion.v1"

// Steps of the promotion saga.
const (
	StepGates     = "gates"
	StepApprovals = "approvals"
	StepApply     = "apply"
	StepVerify    = "verify"
)

type promotionSagaData struct {
	PromotionID string `json:"promotion_id"`
}

// PromotionSaga is the promotion saga's definition. Each step is a
// command to lifecycle itself (HandlePromoteCommand) because gates,
// approvals and environment updates are lifecycle's own work; the steps
// that wait (approvals, apply, rollback) are answered later, by an
// approval or by the end of the environment's update saga.
func PromotionSaga(p PromotionPolicy) saga.Definition {
	once := saga.RetryPolicy{MaxAttempts: 1}
	return saga.Definition{Name: PromotionDefinition, Steps: []saga.Step{
		{Name: StepGates, Do: promote(events.PromoteGates), Timeout: p.StepTimeout, Retry: p.Retry},
		{Name: StepApprovals, Do: promote(events.PromoteApprovals), Timeout: p.ApprovalTimeout, Retry: once},
		// A rollback waits for an update still running, so it is retried
		// patiently; one that gives up ends rollback_failed with an alert.
		{Name: StepApply, Do: promote(events.PromoteApply), Undo: rollback, Timeout: max(p.ApplyTimeout, p.StepTimeout), Retry: once,
			CompensationRetry: saga.RetryPolicy{MaxAttempts: 10, Backoff: p.Retry.Backoff, MaxBackoff: 30 * time.Second}},
		// verify answers "not yet" as a retryable failure until the
		// target is healthy or the verify timeout has passed.
		{Name: StepVerify, Do: promote(events.PromoteVerify), Timeout: p.StepTimeout,
			Retry: saga.RetryPolicy{MaxAttempts: 1000, Backoff: p.Retry.Backoff, MaxBackoff: p.Retry.MaxBackoff}},
	}}
}

func promote(action string) func(saga.Instance, saga.Ref) (saga.Command, error) {
	return func(inst saga.Instance, ref saga.Ref) (saga.Command, error) {
		var d promotionSagaData
		if err := json.Unmarshal(inst.Data, &d); err != nil {
			return saga.Command{}, fmt.Errorf("saga %s data: %w", inst.ID, err)
		}
		return app.SagaCommand(events.TypePromoteCommand, events.PromoteCommand{Saga: app.SagaOf(ref), PromotionID: d.PromotionID, Action: action})
	}
}

func rollback(inst saga.Instance, ref saga.Ref) (*saga.Command, error) {
	c, err := promote(events.PromoteRollback)(inst, ref)
	return &c, err
}

// HandlePromoteCommand runs one step of a promotion saga. It is keyed by
// the promotion and the step, so a redelivery repeats it harmlessly.
func (s *Promoter) HandlePromoteCommand(ctx context.Context, e event.Event) error {
	var c events.PromoteCommand
	if err := json.Unmarshal(e.Data(), &c); err != nil {
		return bus.Permanent(fmt.Errorf("promote command %s: %w", e.ID(), err))
	}
	ref := app.RefOf(c.Saga)
	rec, _, err := s.proms.Get(ctx, c.PromotionID)
	if errors.Is(err, ErrPromotionNotFound) {
		return bus.Permanent(err)
	}
	if err != nil {
		return err
	}
	var in saga.Input
	switch c.Action {
	case events.PromoteGates:
		in, err = s.checkGates(ctx, rec, ref)
	case events.PromoteApprovals:
		in, err = s.awaitApprovals(ctx, rec, ref)
	case events.PromoteApply:
		in, err = s.apply(ctx, rec, ref)
	case events.PromoteVerify:
		in, err = s.verify(ctx, rec, ref)
	case events.PromoteRollback:
		in, err = s.rollBack(ctx, rec, ref)
	default:
		return bus.Permanent(fmt.Errorf("promote command %s: unknown action %q", e.ID(), c.Action))
	}
	if err != nil || in == nil {
		return err
	}
	return app.Deliver(ctx, s.sagas, in, ref)
}

// checkGates evaluates CI and policy. A refusal is final: the promotion
// ends rejected with the gates' verdicts.
func (s *Promoter) checkGates(ctx context.Context, rec PromotionRecord, ref saga.Ref) (saga.Input, error) {
	conclusions, err := s.ci.Conclusions(ctx, rec.Application, rec.Commit)
	if err != nil {
		return nil, err
	}
	ci := domain.CIVerdict(rec.Gates.CI, rec.Commit, conclusions)
	policy, err := s.checkPolicy(ctx, rec)
	if err != nil {
		return nil, err
	}
	rec, err = s.mutate(ctx, rec.ID, func(r PromotionRecord) (PromotionRecord, error) {
		r.Promotion = r.Record(ci).Record(policy)
		return withEvent(r, events.TypePromotionChecked, s.now()), nil
	})
	if err != nil {
		return nil, err
	}
	var failed []string
	for _, g := range []domain.GateResult{ci, policy} {
		if !g.Passed {
			failed = append(failed, g.Gate+" gate: "+g.Detail)
		}
	}
	if len(failed) > 0 {
		return saga.StepFailed{Ref: ref, Reason: strings.Join(failed, "; ")}, nil
	}
	return saga.StepSucceeded{Ref: ref}, nil
}

// checkPolicy asks access whether the promoter may promote into the
// target environment: production policies (maintainer or a JIT grant,
// change windows, incidents) apply here.
func (s *Promoter) checkPolicy(ctx context.Context, rec PromotionRecord) (domain.GateResult, error) {
	env, err := s.envs.Stored(ctx, rec.EnvironmentID)
	if err != nil {
		return domain.GateResult{}, err
	}
	res := AccessResource{Type: "Environment", ID: env.ID, Team: env.Team, Stage: string(env.Stage), Persistent: !env.Ephemeral}
	ok, detail, err := s.authz.Authorize(ctx, rec.Principal, "environment:promote", res)
	if err != nil {
		return domain.GateResult{}, fmt.Errorf("promotion %s: ask access: %w", rec.ID, err)
	}
	if ok {
		return domain.GateResult{Gate: domain.GatePolicy, Passed: true,
			Detail: fmt.Sprintf("%s may promote into %s (stage %s)", rec.By, env.Name, env.Stage)}, nil
	}
	return domain.GateResult{Gate: domain.GatePolicy, Detail: fmt.Sprintf("%s may not promote into %s (stage %s): %s",
		rec.By, env.Name, env.Stage, detail)}, nil
}

// awaitApprovals goes on at once when no (more) approvals are needed;
// otherwise the promotion waits and Approve answers the step.
func (s *Promoter) awaitApprovals(ctx context.Context, rec PromotionRecord, ref saga.Ref) (saga.Input, error) {
	rec, err := s.mutate(ctx, rec.ID, func(r PromotionRecord) (PromotionRecord, error) {
		if r.Approved() {
			r.Promotion = r.Record(domain.GateResult{Gate: domain.GateApprovals, Passed: true, Detail: approvalDetail(r.Promotion)})
			return r, nil
		}
		if r.ApprovalRef != nil && *r.ApprovalRef == ref {
			return r, errNoChange
		}
		r.ApprovalRef = &ref
		r.Promotion = r.Record(domain.GateResult{Gate: domain.GateApprovals, Detail: fmt.Sprintf(
			"waiting for %d approval(s) by a %s or above, not %s", r.Gates.Approvals-len(r.Approvals), r.Gates.ApproverRole, r.By)})
		next, err := r.Move(domain.PromotionAwaitingApproval, "", s.now())
		if err != nil {
			return r, err
		}
		r.Promotion = next
		return withEvent(r, events.TypePromotionWaiting, s.now()), nil
	})
	if errors.Is(err, errNoChange) {
		return nil, nil
	}
	if err != nil {
		return nil, bus.Permanent(err)
	}
	if rec.Approved() {
		return saga.StepSucceeded{Ref: ref}, nil
	}
	return nil, nil
}
