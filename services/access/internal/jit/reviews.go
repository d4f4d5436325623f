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
	"github.com/pave-platform/pave/services/access/decide"
)

// States of a review campaign.
const (
	ReviewOpen   = "open"
	ReviewClosed = "closed"
)

// Review decisions.
const (
	Keep   = "keep"
	Revoke = "revoke"
)

// Review is an access review campaign over a team's active grants.
type Review struct {
	ID        string       `json:"id"`
	Team      string       `json:"team"`
	Deadline  time.Time    `json:"deadline"`
	CreatedBy string       `json:"created_by"`
	CreatedAt time.Time    `json:"created_at"`
	State     string       `json:"state"`
	ClosedAt  *time.Time   `json:"closed_at,omitempty"`
	Items     []ReviewItem `json:"items"`
}

// ReviewItem is one grant under review.
type ReviewItem struct {
	GrantID    string            `json:"grant_id"`
	Principal  string            `json:"principal"`
	Kind       string            `json:"kind"`
	Role       string            `json:"role,omitempty"`
	Scope      events.GrantScope `json:"scope"`
	StartsAt   time.Time         `json:"starts_at"`
	ExpiresAt  time.Time         `json:"expires_at"`
	LastUsedAt *time.Time        `json:"last_used_at,omitempty"`
	// Decision is keep or revoke ("" until decided).
	Decision  string     `json:"decision,omitempty"`
	DecidedBy string     `json:"decided_by,omitempty"`
	DecidedAt *time.Time `json:"decided_at,omitempty"`
	// Outcome: kept, revoked (by decision), revoked-unreviewed (deadline),
	// ended (the grant ended on its own first).
	Outcome string `json:"outcome,omitempty"`
}

// CreateReview opens a campaign listing every active grant of the team.
func (s *Service) CreateReview(ctx context.Context, p authn.Principal, team string, deadline time.Time) (Review, error) {
	now := s.now().UTC()
	switch {
	case team == "":
		return Review{}, &FieldError{"team", "is required"}
	case !s.teams.TeamExists(team):
		return Review{}, &FieldError{"team", fmt.Sprintf("no team %q", team)}
	case deadline.IsZero():
		return Review{}, &FieldError{"deadline", "is required (RFC 3339 time)"}
	case !deadline.After(now):
		return Review{}, &FieldError{"deadline", "must be in the future"}
	}
	rv := Review{ID: newID("rev-"), Team: team, Deadline: deadline.UTC(), CreatedBy: actor(p), CreatedAt: now,
		State: ReviewOpen, Items: []ReviewItem{}}
	gs := s.Grants(GrantFilter{Team: team, Active: true})
	sort.Slice(gs, func(i, j int) bool { return gs[i].ID < gs[j].ID })
	for _, g := range gs {
		rv.Items = append(rv.Items, ReviewItem{GrantID: g.ID, Principal: g.Principal, Kind: g.Kind, Role: g.Role,
			Scope: g.Scope, StartsAt: g.StartsAt, ExpiresAt: g.ExpiresAt, LastUsedAt: g.LastUsedAt})
	}
	if err := s.record(ctx, rv.CreatedBy, "review", team, "access-review:create", "AccessReview::"+rv.ID,
		map[string]string{"deadline": rv.Deadline.Format(time.RFC3339), "grants": fmt.Sprint(len(rv.Items))}); err != nil {
		return Review{}, err
	}
	return rv, s.reviews.create(ctx, rv.ID, rv)
}

// Review finds a campaign, with each grant's latest last use.
func (s *Service) Review(id string) (Review, bool) {
	rv, ok := s.reviews.get(id)
	if !ok {
		return rv, false
	}
	items := make([]ReviewItem, len(rv.Items))
	copy(items, rv.Items)
	for i := range items {
		if g, ok := s.grants.get(items[i].GrantID); ok && g.LastUsedAt != nil {
			items[i].LastUsedAt = g.LastUsedAt
		}
	}
	rv.Items = items
	return rv, true
}

// Reviews lists campaigns of the given teams (nil: all).
func (s *Service) Reviews(teams []string, team string) []Review {
	var out []Review
	for _, rv := range s.reviews.all() {
		if team != "" && rv.Team != team || teams != nil && !contains(teams, rv.Team) {
			continue
		}
		out = append(out, rv)
	}
	return out
}

// DecideReview keeps or revokes one grant of an open campaign.
func (s *Service) DecideReview(ctx context.Context, p authn.Principal, id, grantID, decision string) (Review, error) {
	if decision != Keep && decision != Revoke {
		return Review{}, &FieldError{"decision", fmt.Sprintf("%q is not keep or revoke", decision)}
	}
	if grantID == "" {
		return Review{}, &FieldError{"grant_id", "is required"}
	}
	now := s.now().UTC()
	by := actor(p)
	rv, err := s.reviews.mutate(ctx, id, func(rv *Review) error {
		if rv.State != ReviewOpen || !now.Before(rv.Deadline) {
			return conflict("review %s is closed", id)
		}
		for i := range rv.Items {
			it := &rv.Items[i]
			if it.GrantID != grantID {
				continue
			}
			if it.Decision != "" {
				return conflict("grant %s was already decided (%s by %s)", grantID, it.Decision, it.DecidedBy)
			}
			it.Decision, it.DecidedBy, it.DecidedAt = decision, by, &now
			it.Outcome = "kept"
			if decision == Revoke {
				it.Outcome = "revoked"
			}
			return nil
		}
		return &FieldError{"grant_id", fmt.Sprintf("grant %q is not in review %s", grantID, id)}
	})
	if err != nil {
		return rv, err
	}
	if err := s.record(ctx, by, "review", rv.Team, "access-review:decide", "Grant::"+grantID,
		map[string]string{"review": id, "decision": decision}); err != nil {
		return rv, err
	}
	if decision == Revoke {
		if _, err := s.end(ctx, grantID, events.GrantRevokedReview, by); err != nil && !isConflict(err) {
			return rv, err
		}
	}
	return rv, nil
}

func isConflict(err error) bool { return err != nil && errorsIs(err, ErrConflict) }

// closeReview revokes every grant not reviewed by the deadline.
func (s *Service) closeReview(ctx context.Context, id string) error {
	now := s.now().UTC()
	var unreviewed []string
	rv, err := s.reviews.mutate(ctx, id, func(rv *Review) error {
		if rv.State != ReviewOpen {
			return errUnchanged
		}
		unreviewed = unreviewed[:0]
		rv.State, rv.ClosedAt = ReviewClosed, &now
		for i := range rv.Items {
			it := &rv.Items[i]
			if it.Decision != "" {
				continue
			}
			if g, ok := s.grants.get(it.GrantID); ok && g.State == decide.GrantEnded {
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
func ReviewCSV(rv Review) string {
	var b strings.Builder
	w := csv.NewWriter(&b)
	_ = w.Write([]string{"review_id", "team", "deadline", "state", "grant_id", "principal", "kind", "role", "scope",
		"starts_at", "expires_at", "last_used_at", "decision", "decided_by", "decided_at", "outcome"})
	ts := func(t *time.Time) string {
		if t == nil {
			return ""
		}
		return t.UTC().Format(time.RFC3339)
	}
	for _, it := range rv.Items {
		scope := it.Scope.Kind
		if it.Scope.EnvironmentID != "" {
			scope += ":" + it.Scope.EnvironmentID
		}
		if it.Scope.Stage != "" {
			scope += ":" + it.Scope.Stage
		}
		_ = w.Write([]string{rv.ID, rv.Team, rv.Deadline.Format(time.RFC3339), rv.State, it.GrantID, it.Principal, it.Kind,
			it.Role, scope, it.StartsAt.Format(time.RFC3339), it.ExpiresAt.Format(time.RFC3339), ts(it.LastUsedAt),
			it.Decision, it.DecidedBy, ts(it.DecidedAt), it.Outcome})
	}
	w.Flush()
	return b.String()
}
