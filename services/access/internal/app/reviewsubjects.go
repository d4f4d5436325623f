package app

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/pave-platform/pave/services/access/audit"
	"github.com/pave-platform/pave/services/access/internal/domain"
	"github.com/pave-platform/pave/services/access/internal/jit"
)

// ReviewSubjects are the memberships, service accounts and tokens an
// access review covers, and their withdrawal when a review revokes one.
type ReviewSubjects struct {
	dir    Directory
	tokens TokenStore
	rec    Recorder
	now    func() time.Time
}

var _ jit.Subjects = (*ReviewSubjects)(nil)

// NewReviewSubjects builds them over the directory and the token store.
func NewReviewSubjects(dir Directory, tokens TokenStore, rec Recorder) *ReviewSubjects {
	return &ReviewSubjects{dir: dir, tokens: tokens, rec: rec, now: time.Now}
}

// Item ids of the subjects other than tokens (a token's id is its own).
const (
	memberItem = "member:"
	saItem     = "service-account:"
)

// Holdings lists the team's members, its service accounts and their live
// tokens. A member's own tokens are not the team's: they serve the
// person's other teams too, and removing the membership already ends the
// team's part.
func (r *ReviewSubjects) Holdings(ctx context.Context, team string) ([]domain.Holding, error) {
	var out []domain.Holding
	holders := map[string]bool{}
	for _, m := range r.dir.Members(team) {
		out = append(out, domain.Holding{ID: memberItem + m.User, Subject: domain.SubjectMembership, Principal: m.User,
			Role: m.Role, Since: m.AddedAt})
	}
	for _, s := range r.dir.ServiceAccounts(team) {
		out = append(out, domain.Holding{ID: saItem + s.ID(), Subject: domain.SubjectServiceAccount, Principal: s.ID(),
			Role: s.Role, Since: s.CreatedAt})
		holders[s.ID()] = true
	}
	all, err := r.tokens.List(ctx)
	if err != nil {
		return nil, err
	}
	now := r.now()
	sort.Slice(all, func(i, j int) bool { return all[i].ID < all[j].ID })
	for _, t := range all {
		if !holders[t.Subject] || !t.Active(now) {
			continue
		}
		h := domain.Holding{ID: t.ID, Subject: domain.SubjectToken, Principal: t.Subject, Since: t.CreatedAt}
		if !t.ExpiresAt.IsZero() {
			exp := t.ExpiresAt
			h.ExpiresAt = &exp
		}
		if !t.LastUsedAt.IsZero() {
			used := t.LastUsedAt
			h.LastUsedAt = &used
		}
		out = append(out, h)
	}
	return out, nil
}

// Withdraw removes the membership, deletes the service account or revokes
// the token, and records it.
func (r *ReviewSubjects) Withdraw(ctx context.Context, by, team string, h domain.Holding) error {
	var action, resource string
	switch h.Subject {
	case domain.SubjectMembership:
		if _, ok := r.dir.Memberships(h.Principal)[team]; !ok {
			return nil // already gone
		}
		if err := r.dir.RemoveMember(ctx, team, h.Principal); err != nil {
			return err
		}
		action, resource = "member.removed", "User::"+h.Principal
	case domain.SubjectServiceAccount:
		name := strings.TrimPrefix(h.Principal, team+"/")
		if _, ok := r.dir.ServiceAccount(team, name); !ok {
			return nil
		}
		if err := r.dir.DeleteServiceAccount(ctx, team, name); err != nil {
			return err
		}
		action, resource = "service-account.deleted", "ServiceAccount::"+h.Principal
	case domain.SubjectToken:
		if err := r.revokeToken(ctx, h.ID); err != nil {
			return err
		}
		action, resource = "token.revoked", "Token::"+h.ID
	default:
		return fmt.Errorf("review item %s: unknown subject %q", h.ID, h.Subject)
	}
	return r.rec.Append(ctx, audit.Record{Kind: audit.KindIdentity, Actor: by, Team: team, Action: action,
		Resource: resource, Details: map[string]string{"by": "access-review"}})
}

func (r *ReviewSubjects) revokeToken(ctx context.Context, id string) error {
	all, err := r.tokens.List(ctx)
	if err != nil {
		return err
	}
	for _, t := range all {
		if t.ID != id || !t.RevokedAt.IsZero() {
			continue
		}
		t.RevokedAt = r.now().UTC()
		return r.tokens.Put(ctx, t)
	}
	return nil
}
