package jit

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/pave-platform/pave/pkg/authn"
	"github.com/pave-platform/pave/pkg/policy"
	"github.com/pave-platform/pave/services/access/internal/domain"
)

// RequestInput is the body of POST /v1/access-requests.
type RequestInput struct {
	Kind     string     `json:"kind"`
	Role     string     `json:"role"`
	Scope    ScopeInput `json:"scope"`
	Duration string     `json:"duration"`
	Reason   string     `json:"reason"`
	StartsAt *time.Time `json:"starts_at"`
}

// CreateRequest validates and stores a pending request.
func (s *Service) CreateRequest(ctx context.Context, p authn.Principal, in RequestInput) (domain.Request, error) {
	now := s.now().UTC()
	if in.Kind == "" {
		in.Kind = domain.KindAccess
	}
	r := domain.Request{ID: newID("req-"), Kind: in.Kind, Requester: actor(p), Team: in.Scope.Team,
		Reason: strings.TrimSpace(in.Reason), State: domain.RequestPending, Approvals: []domain.Decision{}, CreatedAt: now,
		ExpiresAt: now.Add(s.cfg.RequestTTL)}
	switch in.Kind {
	case domain.KindAccess:
		if policy.RoleRank(in.Role) == 0 {
			return domain.Request{}, &domain.FieldError{Field: "role", Message: fmt.Sprintf("%q is not a team role (viewer, developer, maintainer, admin)", in.Role)}
		}
		if !slices.Contains(policy.ElevatingRoles(), in.Role) {
			return domain.Request{}, &domain.FieldError{Field: "role", Message: fmt.Sprintf("%q adds only identity and governance actions (members, service accounts, tokens, budgets, reviews), "+
				"which grants never give: ask for maintainer or below, or ask an admin", in.Role)}
		}
		r.Role = in.Role
	case domain.KindTeardown:
		if in.Role != "" {
			return domain.Request{}, &domain.FieldError{Field: "role", Message: "a teardown request names no role"}
		}
		if in.Scope.EnvironmentID == "" {
			return domain.Request{}, &domain.FieldError{Field: "scope.environment_id", Message: "a teardown request names the environment"}
		}
	default:
		return domain.Request{}, &domain.FieldError{Field: "kind", Message: fmt.Sprintf("%q is not access or teardown", in.Kind)}
	}
	sc, err := s.scope(in.Scope)
	if err != nil {
		return domain.Request{}, err
	}
	r.Scope = sc
	d, err := parseDuration("duration", in.Duration, s.cfg.MaxGrant)
	if err != nil {
		return domain.Request{}, err
	}
	r.Duration = d.String()
	if r.Reason == "" {
		return domain.Request{}, &domain.FieldError{Field: "reason", Message: "is required: say why you need this access"}
	}
	if in.StartsAt != nil {
		if in.StartsAt.Before(now.Add(-time.Minute)) {
			return domain.Request{}, &domain.FieldError{Field: "starts_at", Message: "is in the past"}
		}
		if in.StartsAt.After(now.Add(s.cfg.RequestTTL + s.cfg.MaxGrant)) {
			return domain.Request{}, &domain.FieldError{Field: "starts_at", Message: "is too far ahead"}
		}
		t := in.StartsAt.UTC()
		r.StartsAt = &t
	}
	r.ApprovalsRequired = s.cfg.Approvals
	if n, ok := s.approvals[r.Role]; ok && r.Kind == domain.KindAccess {
		r.ApprovalsRequired = n
	}
	if n, ok := s.approvals[domain.KindTeardown]; ok && r.Kind == domain.KindTeardown {
		r.ApprovalsRequired = n
	}
	if err := s.record(ctx, r.Requester, "request", r.Team, "access-request:create", "AccessRequest::"+r.ID,
		map[string]string{"role": r.Role, "kind": r.Kind, "duration": r.Duration, "reason": r.Reason}); err != nil {
		return domain.Request{}, err
	}
	if err := s.requests.Create(ctx, r.ID, r); err != nil {
		return domain.Request{}, err
	}
	return r, nil
}

// GetRequest finds a request.
func (s *Service) GetRequest(id string) (domain.Request, bool) { return s.requests.Get(id) }

// Requests lists the requests a principal may see: its own and its teams'
// (every one for platform admins and auditors), optionally of one team or
// state.
func (s *Service) Requests(p authn.Principal, seesAll bool, team, state string) []domain.Request {
	var out []domain.Request
	for _, r := range s.requests.All() {
		if team != "" && r.Team != team || state != "" && r.State != state {
			continue
		}
		if seesAll || r.Requester == actor(p) || slices.Contains(p.Teams, r.Team) {
			out = append(out, r)
		}
	}
	return out
}

// Approve adds p's approval; the last one needed issues the grant.
func (s *Service) Approve(ctx context.Context, p authn.Principal, id, reason string) (domain.Request, error) {
	now := s.now().UTC()
	by := actor(p)
	r, err := s.requests.Mutate(ctx, id, func(r *domain.Request) error {
		if err := s.reviewable(r, by, now); err != nil {
			return err
		}
		if slices.ContainsFunc(r.Approvals, func(d domain.Decision) bool { return d.By == by }) {
			return conflict("%s already approved request %s; it needs %d distinct approvers", by, id, r.ApprovalsRequired)
		}
		r.Approvals = append(r.Approvals, domain.Decision{By: by, At: now, Reason: reason})
		if len(r.Approvals) >= r.ApprovalsRequired {
			r.State = domain.RequestApproved
			r.GrantID = "grt-" + strings.TrimPrefix(r.ID, "req-")
		}
		return nil
	})
	if err != nil {
		return r, err
	}
	if err := s.record(ctx, by, "approve", r.Team, "access-request:approve", "AccessRequest::"+r.ID,
		map[string]string{"reason": reason, "state": r.State}); err != nil {
		return r, err
	}
	if r.State == domain.RequestApproved {
		if err := s.issue(ctx, r, now); err != nil {
			return r, err
		}
	}
	return r, nil
}

// Deny refuses a pending request.
func (s *Service) Deny(ctx context.Context, p authn.Principal, id, reason string) (domain.Request, error) {
	now := s.now().UTC()
	by := actor(p)
	if strings.TrimSpace(reason) == "" {
		return domain.Request{}, &domain.FieldError{Field: "reason", Message: "is required: say why the request is denied"}
	}
	r, err := s.requests.Mutate(ctx, id, func(r *domain.Request) error {
		if err := s.reviewable(r, by, now); err != nil {
			return err
		}
		r.State = domain.RequestDenied
		r.Denial = &domain.Decision{By: by, At: now, Reason: reason}
		return nil
	})
	if err != nil {
		return r, err
	}
	return r, s.record(ctx, by, "deny", r.Team, "access-request:deny", "AccessRequest::"+r.ID, map[string]string{"reason": reason})
}

func (s *Service) reviewable(r *domain.Request, by string, now time.Time) error {
	switch {
	case r.Requester == by:
		return fmt.Errorf("%w: nobody approves or denies their own request", ErrSelfApproval)
	case r.State == domain.RequestPending && !now.Before(r.ExpiresAt):
		return conflict("request %s expired at %s", r.ID, r.ExpiresAt.Format(time.RFC3339))
	case r.State != domain.RequestPending:
		return conflict("request %s is %s", r.ID, r.State)
	}
	return nil
}

// issue creates the grant of an approved request (idempotently: its id
// comes from the request's).
func (s *Service) issue(ctx context.Context, r domain.Request, now time.Time) error {
	d, err := time.ParseDuration(r.Duration)
	if err != nil {
		return fmt.Errorf("request %s duration: %w", r.ID, err)
	}
	start := now
	if r.StartsAt != nil && r.StartsAt.After(now) {
		start = *r.StartsAt
	}
	g := policy.Grant{ID: r.GrantID, Kind: policy.GrantKindAccess, Principal: r.Requester, Team: r.Team, Role: r.Role,
		Scope: r.Scope, StartsAt: start, ExpiresAt: start.Add(d), RequestID: r.ID, Reason: r.Reason, CreatedAt: now,
		State: policy.GrantScheduled}
	if r.Kind == domain.KindTeardown {
		g.Kind = policy.GrantKindTeardown
	}
	for _, a := range r.Approvals {
		g.ApprovedBy = append(g.ApprovedBy, a.By)
	}
	if !start.After(now) {
		g.State = policy.GrantActive
	}
	if _, exists := s.grants.Get(g.ID); exists {
		return nil
	}
	if err := s.grants.Create(ctx, g.ID, g); errors.Is(err, jetstream.ErrKeyExists) {
		return nil // the timer (or another instance) issued it first
	} else if err != nil {
		return fmt.Errorf("issue grant of request %s: %w", r.ID, err)
	}
	return s.record(ctx, r.Requester, "grant", r.Team, "grant:issue", "Grant::"+g.ID,
		map[string]string{"request": r.ID, "role": g.Role, "kind": g.Kind, "expires_at": g.ExpiresAt.Format(time.RFC3339Nano)})
}
