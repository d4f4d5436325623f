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
	"github.com/pave-platform/pave/pkg/kv"
	"github.com/pave-platform/pave/pkg/saga"
	"github.com/pave-platform/pave/services/lifecycle/internal/app"
	"github.com/pave-platform/pave/services/lifecycle/internal/domain"
)

// mutate applies change to the stored promotion with compare-and-set
// (kv.Retry), then publishes the events it added.
func (s *Promoter) mutate(ctx context.Context, id string, change func(PromotionRecord) (PromotionRecord, error)) (PromotionRecord, error) {
	next, err := kv.Retry(ctx, app.ErrConflict,
		func() (PromotionRecord, uint64, error) { return s.proms.Get(ctx, id) },
		func(r PromotionRecord, rev uint64) error { return s.proms.Update(ctx, r, rev) }, change)
	if err != nil {
		return next, err
	}
	s.flush(ctx, next)
	return next, nil
}

// withEvent adds an event of type typ with the promotion as it is now.
func withEvent(r PromotionRecord, typ string, now time.Time) PromotionRecord {
	r.Seq++
	gates := make([]events.PromotionGate, len(r.Results))
	for i, g := range r.Results {
		gates[i] = events.PromotionGate{Gate: g.Gate, Passed: g.Passed, Detail: g.Detail}
	}
	approvals := make([]string, len(r.Approvals))
	for i, a := range r.Approvals {
		approvals[i] = a.By
	}
	ev := events.PromotionChanged{PromotionID: r.ID, Application: r.Application, Team: r.Team, FromStage: r.FromStage,
		ToStage: r.ToStage, EnvironmentID: r.EnvironmentID, Commit: r.Commit, By: r.By, State: string(r.State),
		Reason: r.Reason, Gates: gates, Approvals: approvals, Seq: r.Seq, At: now}
	r.Outbox = append(append([]PendingEvent(nil), r.Outbox...), PendingEvent{Type: typ, Data: ev})
	return r
}

// flush publishes the record's stored events (ids <promotion>/<seq>, so
// a repeat is deduplicated), then clears them. A failure leaves them for
// the next write or ReconcilePromotions.
func (s *Promoter) flush(ctx context.Context, r PromotionRecord) {
	if len(r.Outbox) == 0 {
		return
	}
	for _, p := range r.Outbox {
		e, err := bus.NewEvent(fmt.Sprintf("%s/%d", p.Data.PromotionID, p.Data.Seq), "pave/lifecycle", p.Type, p.Data)
		if err == nil {
			err = s.pub.Publish(ctx, e)
		}
		if err != nil {
			s.log.Warn("promotion event not published yet", "promotion", r.ID, "seq", p.Data.Seq, "error", err)
			return
		}
	}
	last := r.Outbox[len(r.Outbox)-1].Data.Seq
	for {
		cur, rev, err := s.proms.Get(ctx, r.ID)
		if err != nil {
			return
		}
		var keep []PendingEvent
		for _, p := range cur.Outbox {
			if p.Data.Seq > last {
				keep = append(keep, p)
			}
		}
		cur.Outbox = keep
		if err := s.proms.Update(ctx, cur, rev); !errors.Is(err, app.ErrConflict) || ctx.Err() != nil {
			return
		}
	}
}

// ReconcilePromotions publishes events a crash left in the store.
func (s *Promoter) ReconcilePromotions(ctx context.Context) error {
	all, err := s.proms.List(ctx)
	if err != nil {
		return err
	}
	var errs []error
	for _, r := range all {
		s.flush(ctx, r)
		// An approval stored without its answer to the saga (a crash in
		// between) is answered again; the engine absorbs a repeat.
		if r.State == domain.PromotionAwaitingApproval && r.Approved() && r.ApprovalRef != nil {
			err := s.sagas.Deliver(ctx, r.ID, saga.StepSucceeded{Ref: *r.ApprovalRef})
			if err != nil && !errors.Is(err, saga.ErrInvalidInput) {
				errs = append(errs, err)
			}
		}
	}
	return errors.Join(errs...)
}

// HandleSagaProgress follows the sagas promotions care about: an
// environment update a promotion step waits for, and the promotion sagas
// themselves, whose end is the promotion's outcome.
func (s *Promoter) HandleSagaProgress(ctx context.Context, e event.Event) error {
	var p events.SagaProgressed
	if err := json.Unmarshal(e.Data(), &p); err != nil {
		return bus.Permanent(fmt.Errorf("progress %s: %w", e.ID(), err))
	}
	if !saga.Status(p.Status).Terminal() {
		return nil
	}
	if p.Definition == PromotionDefinition {
		return s.finish(ctx, p)
	}
	ref, ok, err := s.proms.Watched(ctx, p.SagaID)
	if err != nil || !ok {
		return err
	}
	in := operationAnswer(ref, p.SagaID, p.Status, p.Reason)
	err = s.sagas.Deliver(ctx, ref.ID, in)
	if errors.Is(err, saga.ErrNotFound) || errors.Is(err, saga.ErrInvalidInput) {
		return nil // an answer the promotion no longer waits for
	}
	return err
}

// finish records the outcome of a promotion saga that ended.
func (s *Promoter) finish(ctx context.Context, p events.SagaProgressed) error {
	_, err := s.mutate(ctx, p.SagaID, func(r PromotionRecord) (PromotionRecord, error) {
		if r.State.Terminal() {
			return r, errNoChange
		}
		to, typ := outcome(r, saga.Status(p.Status))
		next, err := r.Move(to, strings.TrimSpace(p.Reason), s.now())
		if err != nil {
			return r, err
		}
		r.Promotion = next
		return withEvent(r, typ, s.now()), nil
	})
	if errors.Is(err, errNoChange) || errors.Is(err, ErrPromotionNotFound) || errors.Is(err, domain.ErrIllegalTransition) {
		return nil
	}
	return err
}

// outcome is the final state of a promotion whose saga ended with status.
func outcome(r PromotionRecord, status saga.Status) (domain.PromotionState, string) {
	switch {
	case status == saga.StatusCompleted:
		return domain.PromotionPromoted, events.TypePromotionPromoted
	case status == saga.StatusCompensationFailed:
		return domain.PromotionRollbackFailed, events.TypePromotionFailed
	case r.State == domain.PromotionRollingBack:
		return domain.PromotionRolledBack, events.TypePromotionRolledBack
	}
	return domain.PromotionRejected, events.TypePromotionRejected
}

// HandleGatewayEvent records CI results per application and commit, and
// a push to the default branch as the application's promotion candidate.
func (s *Promoter) HandleGatewayEvent(ctx context.Context, e event.Event) error {
	switch e.Type() {
	case events.TypeCICompleted:
		var c events.CICompleted
		if err := json.Unmarshal(e.Data(), &c); err != nil {
			return bus.Permanent(fmt.Errorf("ci result %s: %w", e.ID(), err))
		}
		if err := boundTo(e, c.Team); err != nil {
			return bus.Permanent(fmt.Errorf("ci result %s: %w", e.ID(), err))
		}
		return s.recordCI(ctx, c)
	case events.TypeGitPushed:
		var g events.GitPushed
		if err := json.Unmarshal(e.Data(), &g); err != nil {
			return bus.Permanent(fmt.Errorf("push %s: %w", e.ID(), err))
		}
		if err := boundTo(e, g.Team); err != nil {
			return bus.Permanent(fmt.Errorf("push %s: %w", e.ID(), err))
		}
		if g.DefaultBranch {
			return s.recordCandidate(ctx, g, e.Time())
		}
	}
	return nil
}

// boundTo: the gateway stamped the event with an authenticated sender
// who may speak for team (events.ExtPrincipal, events.ExtTeam). The CI
// gate trusts nothing else: a result that names a team its sender was
// not checked for never counts.
func boundTo(e event.Event, team string) error {
	ext := e.Extensions()
	principal, _ := ext[events.ExtPrincipal].(string)
	stamped, _ := ext[events.ExtTeam].(string)
	switch {
	case principal == "":
		return fmt.Errorf("no sender stamped by the gateway (%s)", events.ExtPrincipal)
	case team == "" || stamped != team:
		return fmt.Errorf("claims team %q but %s was let in for team %q", team, principal, stamped)
	}
	return nil
}

// recordCandidate keeps a push to the default branch as the newest
// candidate of the applications it belongs to.
func (s *Promoter) recordCandidate(ctx context.Context, g events.GitPushed, at time.Time) error {
	apps, err := s.apps.List(ctx)
	if err != nil {
		return err
	}
	for _, a := range apps {
		if !belongs(a, g.Team, g.Application, g.Repository) {
			continue
		}
		c := domain.Candidate{Commit: g.Commit, Branch: g.Branch, Sender: g.Sender, Provider: g.Provider, At: at.UTC()}
		if err := s.ci.RecordCandidate(ctx, a.Name, c); err != nil {
			return err
		}
		s.log.Info("promotion candidate", "application", a.Name, "commit", g.Commit, "branch", g.Branch)
	}
	return nil
}

// belongs reports whether a webhook event of team about application (or,
// when none is named, about repository) concerns a.
func belongs(a domain.Application, team, application, repository string) bool {
	if a.Team != team {
		return false
	}
	if application != "" {
		return a.Name == application
	}
	return repository != "" && a.Repository == repository
}

// recordCI stores the run's conclusion for every application it belongs
// to: the one named in the event, or those linked to its repository.
func (s *Promoter) recordCI(ctx context.Context, c events.CICompleted) error {
	apps, err := s.apps.List(ctx)
	if err != nil {
		return err
	}
	name := c.Name
	if name == "" {
		name = c.Provider
	}
	for _, a := range apps {
		if !belongs(a, c.Team, c.Application, c.Repository) {
			continue
		}
		if err := s.ci.Record(ctx, a.Name, c.Commit, name, c.Conclusion); err != nil {
			return err
		}
	}
	return nil
}
