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

// Subjects of review items.
const (
	SubjectGrant          = "grant"
	SubjectMembership     = "membership"
	SubjectServiceAccount = "service_account"
	SubjectToken          = "token"
)

// Review is an access review campaign over a team's standing access: its
// active grants, memberships, service accounts and live tokens.
type Review struct {
	ID        string    `json:"id"`
	Team      string    `json:"team"`
	Deadline  time.Time `json:"deadline"`
	CreatedBy string    `json:"created_by"`
	CreatedAt time.Time `json:"created_at"`
	// Trigger says why the platform opened it ("break_glass:<grant>"); ""
	// for a campaign someone created.
	Trigger  string       `json:"trigger,omitempty"`
	State    string       `json:"state"`
	ClosedAt *time.Time   `json:"closed_at,omitempty"`
	Items    []ReviewItem `json:"items"`
}

// ReviewItem is one piece of access under review.
type ReviewItem struct {
	// ID names the item in decisions: the grant id, member:<user>,
	// service-account:<team>/<name> or the token id.
	ID      string `json:"id"`
	Subject string `json:"subject"`
	GrantID string `json:"grant_id,omitempty"`
	// Principal holds the access; they never decide on it.
	Principal string `json:"principal"`
	// Kind is the grant's kind, or the subject for other items.
	Kind       string             `json:"kind"`
	Role       string             `json:"role,omitempty"`
	Scope      *events.GrantScope `json:"scope,omitempty"`
	StartsAt   time.Time          `json:"starts_at"`
	ExpiresAt  *time.Time         `json:"expires_at,omitempty"`
	LastUsedAt *time.Time         `json:"last_used_at,omitempty"`
	// Decision is keep or revoke ("" until decided).
	Decision  string     `json:"decision,omitempty"`
	DecidedBy string     `json:"decided_by,omitempty"`
	DecidedAt *time.Time `json:"decided_at,omitempty"`
	// Outcome: kept, revoked (by decision), revoked-unreviewed (a grant at
	// the deadline), unreviewed (other access at the deadline: kept, and
	// flagged in the export), ended (the grant ended on its own first).
	Outcome string `json:"outcome,omitempty"`
}

// Holding is standing access a review covers besides grants.
type Holding struct {
	ID, Subject, Principal, Role string
	Since                        time.Time
	ExpiresAt, LastUsedAt        *time.Time
}

// Subjects lists a team's memberships, service accounts and live tokens,
// and withdraws one a review revoked.
type Subjects interface {
	Holdings(ctx context.Context, team string) ([]Holding, error)
	Withdraw(ctx context.Context, by, team string, h Holding) error
}

// WithSubjects makes reviews cover memberships, service accounts and tokens.
func (s *Service) WithSubjects(sub Subjects) { s.subjects = sub }

func grantItem(g policy.Grant) ReviewItem {
	sc := g.Scope
	exp := g.ExpiresAt
	return ReviewItem{ID: g.ID, Subject: SubjectGrant, GrantID: g.ID, Principal: g.Principal, Kind: g.Kind, Role: g.Role,
		Scope: &sc, StartsAt: g.StartsAt, ExpiresAt: &exp, LastUsedAt: g.LastUsedAt}
}

// CreateReview opens a campaign listing every active grant, membership,
// service account and live token of the team.
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
		rv.Items = append(rv.Items, grantItem(g))
	}
	if s.subjects != nil {
		hs, err := s.subjects.Holdings(ctx, team)
		if err != nil {
			return Review{}, fmt.Errorf("list team %s's access: %w", team, err)
		}
		for _, h := range hs {
			rv.Items = append(rv.Items, ReviewItem{ID: h.ID, Subject: h.Subject, Principal: h.Principal, Kind: h.Subject,
				Role: h.Role, StartsAt: h.Since, ExpiresAt: h.ExpiresAt, LastUsedAt: h.LastUsedAt})
		}
	}
	if err := s.record(ctx, rv.CreatedBy, "review", team, "access-review:create", "AccessReview::"+rv.ID,
		map[string]string{"deadline": rv.Deadline.Format(time.RFC3339), "items": fmt.Sprint(len(rv.Items))}); err != nil {
		return Review{}, err
	}
	return rv, s.reviews.Create(ctx, rv.ID, rv)
}

// openBreakGlassReview opens the review of one break-glass grant: a
// maintainer other than the holder keeps or revokes it.
func (s *Service) openBreakGlassReview(ctx context.Context, g policy.Grant) (Review, error) {
	now := s.now().UTC()
	window := s.cfg.BreakGlassReview
	if window == 0 {
		window = 7 * 24 * time.Hour
	}
	rv := Review{ID: "rev-" + strings.TrimPrefix(g.ID, "grt-"), Team: g.Team, Deadline: now.Add(window),
		CreatedBy: "access-service", CreatedAt: now, Trigger: "break_glass:" + g.ID, State: ReviewOpen,
		Items: []ReviewItem{grantItem(g)}}
	if err := s.record(ctx, "access-service", "review", g.Team, "access-review:create", "AccessReview::"+rv.ID,
		map[string]string{"deadline": rv.Deadline.Format(time.RFC3339), "trigger": rv.Trigger}); err != nil {
		return Review{}, err
	}
	return rv, s.reviews.Create(ctx, rv.ID, rv)
}

// Review finds a campaign, with each grant's latest last use.
func (s *Service) Review(id string) (Review, bool) {
	rv, ok := s.reviews.Get(id)
	if !ok {
		return rv, false
	}
	items := make([]ReviewItem, len(rv.Items))
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
func (s *Service) Reviews(teams []string, team string) []Review {
	var out []Review
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
func (s *Service) DecideReview(ctx context.Context, p authn.Principal, id, itemID, decision string) (Review, error) {
	if decision != Keep && decision != Revoke {
		return Review{}, &FieldError{"decision", fmt.Sprintf("%q is not keep or revoke", decision)}
	}
	if itemID == "" {
		return Review{}, &FieldError{"item_id", "is required (or grant_id)"}
	}
	now := s.now().UTC()
	by := actor(p)
	var decided ReviewItem
	rv, err := s.reviews.Mutate(ctx, id, func(rv *Review) error {
		if rv.State != ReviewOpen || !now.Before(rv.Deadline) {
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
			if decision == Revoke {
				it.Outcome = "revoked"
			}
			decided = *it
			return nil
		}
		return &FieldError{"item_id", fmt.Sprintf("%q is not in review %s", itemID, id)}
	})
	if err != nil {
		return rv, err
	}
	if err := s.record(ctx, by, "review", rv.Team, "access-review:decide", reviewResource(decided),
		map[string]string{"review": id, "decision": decision, "subject": decided.Subject}); err != nil {
		return rv, err
	}
	if decision == Revoke {
		return rv, s.withdraw(ctx, rv, decided, by)
	}
	return rv, nil
}

func reviewResource(it ReviewItem) string {
	switch it.Subject {
	case SubjectGrant, "":
		return "Grant::" + it.GrantID
	case SubjectToken:
		return "Token::" + it.ID
	case SubjectServiceAccount:
		return "ServiceAccount::" + it.Principal
	}
	return "User::" + it.Principal
}

// withdraw ends what a review revoked.
func (s *Service) withdraw(ctx context.Context, rv Review, it ReviewItem, by string) error {
	if it.Subject == SubjectGrant || it.Subject == "" {
		if _, err := s.end(ctx, it.GrantID, events.GrantRevokedReview, by); err != nil && !isConflict(err) && err != ErrNotFound {
			return err
		}
		return nil
	}
	if s.subjects == nil {
		return fmt.Errorf("review %s: %s items need the identity directory", rv.ID, it.Subject)
	}
	return s.subjects.Withdraw(ctx, by, rv.Team, Holding{ID: it.ID, Subject: it.Subject, Principal: it.Principal, Role: it.Role})
}

func isConflict(err error) bool { return err != nil && errorsIs(err, ErrConflict) }

// closeReview revokes every grant not reviewed by the deadline.
func (s *Service) closeReview(ctx context.Context, id string) error {
	now := s.now().UTC()
	var unreviewed []string
	rv, err := s.reviews.Mutate(ctx, id, func(rv *Review) error {
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
func ReviewCSV(rv Review) string {
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
			id, subject = it.GrantID, SubjectGrant
		}
		_ = w.Write([]string{rv.ID, rv.Team, rv.Deadline.Format(time.RFC3339), rv.State, it.GrantID, it.Principal, it.Kind,
			it.Role, scope, it.StartsAt.Format(time.RFC3339), ts(it.ExpiresAt), ts(it.LastUsedAt),
			it.Decision, it.DecidedBy, ts(it.DecidedAt), it.Outcome, id, subject})
	}
	w.Flush()
	return b.String()
}
