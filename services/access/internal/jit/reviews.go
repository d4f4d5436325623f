package jit

import (
	"context"
	"encoding/csv"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/pave-platform/pave/pkg/authn"
	"github.com/pave-platform/pave/pkg/events"
	"github.com/pave-platform/pave/pkg/policy"
	"github.com/pave-platform/pave/services/access/internal/domain"
)

// Subjects lists a team's memberships, service accounts and live tokens,
// and withdraws one a review revoked.
type Subjects interface {
	Holdings(ctx context.Context, team string) ([]domain.Holding, error)
	Withdraw(ctx context.Context, by, team string, h domain.Holding) error
}

// WithSubjects makes reviews cover memberships, service accounts and tokens.
func (s *Service) WithSubjects(sub Subjects) { s.subjects = sub }

func grantItem(g policy.Grant) domain.ReviewItem {
	sc := g.Scope
	exp := g.ExpiresAt
	return domain.ReviewItem{ID: g.ID, Subject: domain.SubjectGrant, GrantID: g.ID, Principal: g.Principal, Kind: g.Kind, Role: g.Role,
		Scope: &sc, StartsAt: g.StartsAt, ExpiresAt: &exp, LastUsedAt: g.LastUsedAt}
}

// CreateReview opens a campaign listing every active grant, membership,
// service account and live token of the team.
func (s *Service) CreateReview(ctx context.Context, p authn.Principal, team string, deadline time.Time) (domain.Review, error) {
	now := s.now().UTC()
	switch {
	case team == "":
		return domain.Review{}, &domain.FieldError{Field: "team", Message: "is required"}
	case !s.teams.TeamExists(team):
		return domain.Review{}, &domain.FieldError{Field: "team", Message: fmt.Sprintf("no team %q", team)}
	case deadline.IsZero():
		return domain.Review{}, &domain.FieldError{Field: "deadline", Message: "is required (RFC 3339 time)"}
	case !deadline.After(now):
		return domain.Review{}, &domain.FieldError{Field: "deadline", Message: "must be in the future"}
	}
	rv := domain.Review{ID: newID("rev-"), Team: team, Deadline: deadline.UTC(), CreatedBy: actor(p), CreatedAt: now,
		State: domain.ReviewOpen, Items: []domain.ReviewItem{}}
	gs := s.Grants(GrantFilter{Team: team, Active: true})
	sort.Slice(gs, func(i, j int) bool { return gs[i].ID < gs[j].ID })
	for _, g := range gs {
		rv.Items = append(rv.Items, grantItem(g))
	}
	if s.subjects != nil {
		hs, err := s.subjects.Holdings(ctx, team)
		if err != nil {
			return domain.Review{}, fmt.Errorf("list team %s's access: %w", team, err)
		}
		for _, h := range hs {
			rv.Items = append(rv.Items, domain.ReviewItem{ID: h.ID, Subject: h.Subject, Principal: h.Principal, Kind: h.Subject,
				Role: h.Role, StartsAt: h.Since, ExpiresAt: h.ExpiresAt, LastUsedAt: h.LastUsedAt})
		}
	}
	if err := s.record(ctx, rv.CreatedBy, "review", team, "access-review:create", "AccessReview::"+rv.ID,
		map[string]string{"deadline": rv.Deadline.Format(time.RFC3339), "items": fmt.Sprint(len(rv.Items))}); err != nil {
		return domain.Review{}, err
	}
	return rv, s.reviews.Create(ctx, rv.ID, rv)
}

// openBreakGlassReview opens the review of one break-glass grant: a
// maintainer other than the holder keeps or revokes it.
func (s *Service) openBreakGlassReview(ctx context.Context, g policy.Grant) (domain.Review, error) {
	now := s.now().UTC()
	window := s.cfg.BreakGlassReview
	if window == 0 {
		window = 7 * 24 * time.Hour
	}
	rv := domain.Review{ID: "rev-" + strings.TrimPrefix(g.ID, "grt-"), Team: g.Team, Deadline: now.Add(window),
		CreatedBy: "access-service", CreatedAt: now, Trigger: "break_glass:" + g.ID, State: domain.ReviewOpen,
		Items: []domain.ReviewItem{grantItem(g)}}
	if err := s.record(ctx, "access-service", "review", g.Team, "access-review:create", "AccessReview::"+rv.ID,
		map[string]string{"deadline": rv.Deadline.Format(time.RFC3339), "trigger": rv.Trigger}); err != nil {
		return domain.Review{}, err
	}
	return rv, s.reviews.Create(ctx, rv.ID, rv)
}

// domain.Review finds a campaign, with each grant's latest last use.
func (s *Service) Review(id string) (domain.Review, bool) {
	rv, ok := s.reviews.Get(id)
	if !ok {
		return rv, false
	}
	items := make([]domain.ReviewItem, len(rv.Items))
	copy(items, rv.Items)
	for i := range items {
		if items[i].GrantID == "" {
			continue
		}
		if g, ok := s.grants.Get(items[i].GrantID); ok && g.LastUsedAt != nil {
			items[i].LastUsedAt = g.LastUsedAt
		}
	}
	rv.Items = items
	return rv, true
}

// Reviews lists campaigns of the given teams (nil: all).
func (s *Service) Reviews(teams []string, team string) []domain.Review {
	var out []domain.Review
	for _, rv := range s.reviews.All() {
		if team != "" && rv.Team != team || teams != nil && !contains(teams, rv.Team) {
			continue
		}
		out = append(out, rv)
	}
	return out
}

// DecideReview keeps or revokes one item of an open campaign. Nobody
// decides on their own access.
func (s *Service) DecideReview(ctx context.Context, p authn.Principal, id, itemID, decision string) (domain.Review, error) {
	if decision != domain.Keep && decision != domain.Revoke {
		return domain.Review{}, &domain.FieldError{Field: "decision", Message: fmt.Sprintf("%q is not keep or revoke", decision)}
	}
	if itemID == "" {
		return domain.Review{}, &domain.FieldError{Field: "item_id", Message: "is required (or grant_id)"}
	}
	now := s.now().UTC()
	by := actor(p)
	var decided domain.ReviewItem
	rv, err := s.reviews.Mutate(ctx, id, func(rv *domain.Review) error {
		if rv.State != domain.ReviewOpen || !now.Before(rv.Deadline) {
			return conflict("review %s is closed", id)
		}
		for i := range rv.Items {
			it := &rv.Items[i]
			if it.ID != itemID && !(it.ID == "" && it.GrantID == itemID) {
				continue
			}
			if it.Principal == by {
				return fmt.Errorf("%w: nobody decides on their own access (%s in review %s)", ErrSelfApproval, itemID, id)
			}
			if it.Decision != "" {
				return conflict("%s was already decided (%s by %s)", itemID, it.Decision, it.DecidedBy)
			}
			it.Decision, it.DecidedBy, it.DecidedAt = decision, by, &now
			it.Outcome = "kept"
			if decision == domain.Revoke {
				it.Outcome = "revoked"
			}
			decided = *it
			return nil
		}
		return &domain.FieldError{Field: "item_id", Message: fmt.Sprintf("%q is not in review %s", itemID, id)}
	})
	if err != nil {
		return rv, err
	}
	if err := s.record(ctx, by, "review", rv.Team, "access-review:decide", reviewResource(decided),
		map[string]string{"review": id, "decision": decision, "subject": decided.Subject}); err != nil {
		return rv, err
	}
	if decision == domain.Revoke {
		return rv, s.withdraw(ctx, rv, decided, by)
	}
	return rv, nil
}

func reviewResource(it domain.ReviewItem) string {
	switch it.Subject {
	case domain.SubjectGrant, "":
		return "Grant::" + it.GrantID
	case domain.SubjectToken:
		return "Token::" + it.ID
	case domain.SubjectServiceAccount:
		return "ServiceAccount::" + it.Principal
	}
	return "User::" + it.Principal
}

// withdraw ends what a review revoked.
func (s *Service) withdraw(ctx context.Context, rv domain.Review, it domain.ReviewItem, by string) error {
	if it.Subject == domain.SubjectGrant || it.Subject == "" {
		if _, err := s.end(ctx, it.GrantID, events.GrantRevokedReview, by); err != nil && !isConflict(err) && err != ErrNotFound {
			return err
		}
		return nil
	}
	if s.subjects == nil {
		return fmt.Errorf("review %s: %s items need the identity directory", rv.ID, it.Subject)
	}
	return s.subjects.Withdraw(ctx, by, rv.Team, domain.Holding{ID: it.ID, Subject: it.Subject, Principal: it.Principal, Role: it.Role})
}

func isConflict(err error) bool { return err != nil && errorsIs(err, ErrConflict) }

// closeReview revokes every grant not reviewed by the deadline.
func (s *Service) closeReview(ctx context.Context, id string) error {
	now := s.now().UTC()
	var unreviewed []string
	rv, err := s.reviews.Mutate(ctx, id, func(rv *domain.Review) error {
		if rv.State != domain.ReviewOpen {
			return errUnchanged
		}
		unreviewed = unreviewed[:0]
		rv.State, rv.ClosedAt = domain.ReviewClosed, &now
		for i := range rv.Items {
			it := &rv.Items[i]
			if it.Decision != "" {
				continue
			}
			if it.GrantID == "" {
				it.Outcome = "unreviewed"
				continue
			}
			if g, ok := s.grants.Get(it.GrantID); ok && g.State == policy.GrantEnded {
				it.Outcome = "ended"
				continue
			}
			it.Outcome = "revoked-unreviewed"
			unreviewed = append(unreviewed, it.GrantID)
		}
		return nil
	})
	if err != nil {
		return err
	}
	for _, gid := range unreviewed {
		if _, err := s.end(ctx, gid, events.GrantRevokedReview, "review:"+rv.ID); err != nil && !isConflict(err) && err != ErrNotFound {
			return err
		}
	}
	return nil
}

// ReviewCSV is the campaign's result as CSV, one row per grant.
func ReviewCSV(rv domain.Review) string {
	var b strings.Builder
	w := csv.NewWriter(&b)
	_ = w.Write([]string{"review_id", "team", "deadline", "state", "grant_id", "principal", "kind", "role", "scope",
		"starts_at", "expires_at", "last_used_at", "decision", "decided_by", "decided_at", "outcome", "item_id", "subject"})
	ts := func(t *time.Time) string {
		if t == nil {
			return ""
		}
		return t.UTC().Format(time.RFC3339)
	}
	for _, it := range rv.Items {
		scope := ""
		if it.Scope != nil {
			scope = it.Scope.Kind
			if it.Scope.EnvironmentID != "" {
				scope += ":" + it.Scope.EnvironmentID
			}
			if it.Scope.Stage != "" {
				scope += ":" + it.Scope.Stage
			}
		}
		id, subject := it.ID, it.Subject
		if subject == "" {
			id, subject = it.GrantID, domain.SubjectGrant
		}
		_ = w.Write([]string{rv.ID, rv.Team, rv.Deadline.Format(time.RFC3339), rv.State, it.GrantID, it.Principal, it.Kind,
			it.Role, scope, it.StartsAt.Format(time.RFC3339), ts(it.ExpiresAt), ts(it.LastUsedAt),
			it.Decision, it.DecidedBy, ts(it.DecidedAt), it.Outcome, id, subject})
	}
	w.Flush()
	return b.String()
}
