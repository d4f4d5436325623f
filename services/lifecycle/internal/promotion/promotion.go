// Package promotion holds the promotion pipelines: applications and their
// stages, promotion requests, the gates (CI, approvals, policy), the
// promotion saga that applies a revision to the next stage's environment
// and verifies it (probes), and the rollback. It works on environments
// through Environments (the environments' app).
package promotion

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"time"

	"github.com/pave-platform/pave/pkg/authn"
	"github.com/pave-platform/pave/pkg/events"
	"github.com/pave-platform/pave/pkg/saga"
	"github.com/pave-platform/pave/services/lifecycle/internal/app"
	"github.com/pave-platform/pave/services/lifecycle/internal/domain"
)

// PromotionRecord is a promotion as stored: the domain promotion plus
// what the saga steps need (the promoter, the step waiting for approvals
// or for an environment update) and the events not yet published.
type PromotionRecord struct {
	domain.Promotion
	Principal authn.Principal `json:"principal"`
	// ApprovalRef is the approvals step waiting for people.
	ApprovalRef *saga.Ref `json:"approval_ref,omitempty"`
	// VerifyStarted is when verification began; it gives up after the
	// verify timeout.
	VerifyStarted time.Time      `json:"verify_started,omitzero"`
	Seq           int            `json:"seq"`
	Outbox        []PendingEvent `json:"outbox,omitempty"`
}

// PendingEvent is a promotion event stored with the state, not yet published.
type PendingEvent struct {
	Type string                  `json:"type"`
	Data events.PromotionChanged `json:"data"`
}

// Promotions stores promotion records (compare-and-set on revision) and
// remembers which environment operation a promotion step waits for.
type Promotions interface {
	Create(ctx context.Context, r PromotionRecord) error
	Get(ctx context.Context, id string) (PromotionRecord, uint64, error)
	Update(ctx context.Context, r PromotionRecord, rev uint64) error
	List(ctx context.Context) ([]PromotionRecord, error)
	// Watch records that the saga step ref waits for environment
	// operation opID to end.
	Watch(ctx context.Context, opID string, ref saga.Ref) error
	Watched(ctx context.Context, opID string) (saga.Ref, bool, error)
}

// CIResults keeps, per application and commit, each CI run's conclusion.
type CIResults interface {
	Record(ctx context.Context, application, commit, name, conclusion string) error
	Conclusions(ctx context.Context, application, commit string) (map[string]string, error)
	// RecordCandidate keeps the newest push to the default branch.
	RecordCandidate(ctx context.Context, application string, c domain.Candidate) error
	Candidate(ctx context.Context, application string) (domain.Candidate, bool, error)
}

// AccessResource is the environment a policy decision is about.
type AccessResource struct {
	Type       string `json:"type"`
	ID         string `json:"id"`
	Team       string `json:"team,omitempty"`
	Stage      string `json:"stage,omitempty"`
	Persistent bool   `json:"persistent,omitempty"`
}

// Authorizer asks access whether p may do action on res; detail names the
// policies of a denial.
type Authorizer interface {
	Authorize(ctx context.Context, p authn.Principal, action string, res AccessResource) (allowed bool, detail string, err error)
}

// PromotionPolicy bounds how long a promotion waits.
type PromotionPolicy struct {
	// ApprovalTimeout: a promotion not approved in time is rejected.
	ApprovalTimeout time.Duration
	// VerifyTimeout: a target not healthy in time is rolled back.
	VerifyTimeout time.Duration
	// StepTimeout bounds checking the gates and each verification.
	StepTimeout time.Duration
	// ApplyTimeout bounds apply and each rollback attempt: a whole
	// environment update.
	ApplyTimeout time.Duration
	Retry        saga.RetryPolicy
}

// Environments is what promotions need of the environment service
// (app.Service): environments as stored, their catalog, and a new
// revision applied by the update saga.
type Environments interface {
	Stored(ctx context.Context, id string) (domain.Environment, error)
	StoredAll(ctx context.Context) ([]domain.Environment, error)
	UpdateRevision(ctx context.Context, id string, params map[string]any, commit, by string) (domain.Environment, error)
	Catalog() *domain.Catalog
}

// errNoChange ends a promotion mutate that has nothing to write.
var errNoChange = errors.New("no change")

// Promoter holds the promotion pipeline use cases.
type Promoter struct {
	envs  Environments
	apps  Applications
	proms Promotions
	ci    CIResults
	authz Authorizer
	sagas app.Sagas
	pub   app.Publisher
	pol   PromotionPolicy
	log   *slog.Logger
	now   func() time.Time
}

// NewPromoter builds the promotion use cases on the environment service.
func NewPromoter(envs Environments, apps Applications, proms Promotions, ci CIResults, authz Authorizer, sagas app.Sagas,
	pub app.Publisher, pol PromotionPolicy, log *slog.Logger) *Promoter {
	return &Promoter{envs: envs, apps: apps, proms: proms, ci: ci, authz: authz, sagas: sagas, pub: pub, pol: pol,
		log: log, now: func() time.Time { return time.Now().UTC() }}
}

// PromotionRequest is POST /v1/promotions.
type PromotionRequest struct {
	Application string
	To          string
	Revision    int
	Commit      string
}

// Request validates a promotion, stores it (checking_gates) and starts
// its saga.
func (s *Promoter) Request(ctx context.Context, p authn.Principal, req PromotionRequest) (PromotionRecord, error) {
	a, err := s.GetApplication(ctx, p, req.Application)
	if errors.Is(err, ErrApplicationNotFound) {
		return PromotionRecord{}, invalid("application", "no such application")
	}
	if err != nil {
		return PromotionRecord{}, err
	}
	stage, _, ok := a.Stage(req.To)
	if !ok {
		return PromotionRecord{}, invalid("to", "application "+a.Name+" has no stage "+req.To)
	}
	target, err := s.environmentNamed(ctx, a.Team, stage.Environment)
	if err != nil {
		return PromotionRecord{}, invalid("to", "stage "+stage.Name+": environment "+stage.Environment+" of team "+a.Team+" does not exist")
	}
	id, err := domain.NewPromotionID(rand.Reader)
	if err != nil {
		return PromotionRecord{}, err
	}
	now := s.now()
	pr := domain.Promotion{ID: id, Application: a.Name, Team: a.Team, ToStage: stage.Name, EnvironmentID: target.ID,
		PreviousRevision: target.Revision, By: p.ID, State: domain.PromotionCheckingGates, Gates: stage.Gates,
		Results: []domain.GateResult{}, Approvals: []domain.Approval{}, CreatedAt: now, UpdatedAt: now}
	if err := s.source(ctx, a, stage, target, req, &pr); err != nil {
		return PromotionRecord{}, err
	}
	rec := PromotionRecord{Promotion: pr, Principal: p}
	rec = withEvent(rec, events.TypePromotionRequested, now)
	if err := s.proms.Create(ctx, rec); err != nil {
		return rec, err
	}
	s.flush(ctx, rec)
	if err := s.sagas.Start(ctx, PromotionDefinition, id, promotionSagaData{PromotionID: id}); err != nil {
		return rec, err
	}
	return rec, nil
}

// source fills in what is promoted: a revision of the previous stage's
// environment (given, found by commit, or its current one), or for the
// first stage the target's parameters with the given commit.
func (s *Promoter) source(ctx context.Context, a domain.Application, stage domain.PipelineStage, target domain.Environment,
	req PromotionRequest, pr *domain.Promotion) error {
	if req.Commit != "" && !domain.ValidCommit(req.Commit) {
		return invalid("commit", "must be a full 40-character lower-case hex sha")
	}
	prev, ok := a.Previous(stage.Name)
	if !ok {
		if req.Commit == "" {
			return invalid("commit", "is required to promote into the first stage "+stage.Name)
		}
		if req.Revision != 0 {
			return invalid("revision", "the first stage has no previous stage to take a revision from")
		}
		pr.Commit, pr.Parameters = req.Commit, map[string]any(target.Parameters.Clone())
		return nil
	}
	src, err := s.environmentNamed(ctx, a.Team, prev.Environment)
	if err != nil {
		return invalid("to", "previous stage "+prev.Name+": environment "+prev.Environment+" does not exist")
	}
	i := slices.IndexFunc(src.Revisions, func(r domain.Revision) bool { return r.Number == src.Revision })
	switch {
	case req.Revision != 0:
		i = slices.IndexFunc(src.Revisions, func(r domain.Revision) bool { return r.Number == req.Revision })
		if i < 0 {
			return invalid("revision", "environment "+src.Name+" has no such revision")
		}
	case req.Commit != "":
		i = -1
		for j := len(src.Revisions) - 1; j >= 0 && i < 0; j-- {
			if src.Revisions[j].Commit == req.Commit && !src.Revisions[j].RolledBack {
				i = j
			}
		}
		if i < 0 {
			return invalid("commit", "no revision of environment "+src.Name+" (stage "+prev.Name+") runs this commit")
		}
	}
	if i < 0 {
		return invalid("to", "environment "+src.Name+" has no revision")
	}
	rev := src.Revisions[i]
	if err := healthyIn(src, rev, prev.Name); err != nil {
		return err
	}
	pr.FromStage, pr.SourceEnvironment, pr.SourceRevision = prev.Name, src.ID, rev.Number
	pr.Commit, pr.Parameters = rev.Commit, map[string]any(rev.Parameters.Clone())
	return nil
}

// healthyIn refuses a revision that is not healthy in its stage: one that
// was rolled back (it never ran), or the revision running in an
// environment that is not ready (degraded, updating, ...). An older
// revision that ran and was superseded may be promoted.
func healthyIn(src domain.Environment, rev domain.Revision, stage string) error {
	switch {
	case rev.RolledBack:
		return invalid("revision", fmt.Sprintf("revision %d of environment %s was rolled back in stage %s: it never ran there",
			rev.Number, src.Name, stage))
	case rev.Number == src.Revision && src.State != domain.StateReady && src.State != domain.StateExpiring:
		msg := fmt.Sprintf("revision %d of environment %s is not healthy in stage %s: the environment is %s",
			rev.Number, src.Name, stage, src.State)
		if src.Reason != "" {
			msg += " (" + src.Reason + ")"
		}
		return invalid("to", msg)
	}
	return nil
}

// environmentNamed finds the team's live environment of that name.
func (s *Promoter) environmentNamed(ctx context.Context, team, name string) (domain.Environment, error) {
	all, err := s.envs.StoredAll(ctx)
	if err != nil {
		return domain.Environment{}, err
	}
	for _, e := range all {
		if e.Team == team && e.Name == name && e.State != domain.StateDeleted && e.State != domain.StateFailed {
			return e, nil
		}
	}
	return domain.Environment{}, app.ErrNotFound
}

func invalid(field, msg string) error {
	return &domain.ValidationError{Fields: []domain.FieldError{{Field: field, Message: msg}}}
}

// GetPromotion returns a promotion of the principal's teams.
func (s *Promoter) GetPromotion(ctx context.Context, p authn.Principal, id string) (PromotionRecord, error) {
	r, _, err := s.proms.Get(ctx, id)
	if err != nil {
		return r, err
	}
	if !p.InTeam(r.Team) {
		return PromotionRecord{}, ErrPromotionNotFound
	}
	return r, nil
}

// ListPromotions is the history: the promotions of the principal's
// teams, of one application when given, newest first.
func (s *Promoter) ListPromotions(ctx context.Context, p authn.Principal, application string) ([]PromotionRecord, error) {
	all, err := s.proms.List(ctx)
	if err != nil {
		return nil, err
	}
	out := []PromotionRecord{}
	for _, r := range all {
		if p.InTeam(r.Team) && (application == "" || r.Application == application) {
			out = append(out, r)
		}
	}
	slices.SortFunc(out, func(a, b PromotionRecord) int {
		if c := b.CreatedAt.Compare(a.CreatedAt); c != 0 {
			return c
		}
		return strings.Compare(b.ID, a.ID)
	})
	return out, nil
}

// Approve records p's approval. Once enough people approved, the saga's
// approvals step goes on.
func (s *Promoter) Approve(ctx context.Context, p authn.Principal, id string) (PromotionRecord, error) {
	if _, err := s.GetPromotion(ctx, p, id); err != nil {
		return PromotionRecord{}, err
	}
	rec, err := s.mutate(ctx, id, func(r PromotionRecord) (PromotionRecord, error) {
		role := p.TeamRoles[r.Team]
		if p.IsPlatformAdmin() {
			role = "admin"
		}
		next, err := r.Promotion.Approve(p.ID, role, s.now())
		if err != nil {
			return r, err
		}
		r.Promotion = next
		if r.Approved() {
			r.Promotion = r.Record(domain.GateResult{Gate: domain.GateApprovals, Passed: true, Detail: approvalDetail(next)})
		}
		return withEvent(r, events.TypePromotionApproved, s.now()), nil
	})
	if err != nil {
		return rec, err
	}
	if rec.Approved() && rec.ApprovalRef != nil {
		if err := s.sagas.Deliver(ctx, rec.ID, saga.StepSucceeded{Ref: *rec.ApprovalRef}); err != nil {
			return rec, err
		}
	}
	return rec, nil
}

func approvalDetail(p domain.Promotion) string {
	names := make([]string, len(p.Approvals))
	for i, a := range p.Approvals {
		names[i] = a.By
	}
	if len(names) == 0 {
		return "none required"
	}
	return "approved by " + strings.Join(names, ", ")
}
