package jit

import (
	"context"
	"sort"

	"github.com/pave-platform/pave/pkg/events"
	"github.com/pave-platform/pave/pkg/policy"
	"github.com/pave-platform/pave/services/access/internal/domain"
)

// TeamAccess lists the team's grants that have not ended and its pending
// or approved-but-not-issued requests: what a team deletion would leave
// behind for a re-created team of the same name.
func (s *Service) TeamAccess(team string) (grants, requests []string) {
	for _, g := range s.grants.All() {
		if g.Team == team && g.State != policy.GrantEnded {
			grants = append(grants, g.ID)
		}
	}
	for _, r := range s.requests.All() {
		if r.Team != team {
			continue
		}
		if _, issued := s.grants.Get(r.GrantID); r.State == domain.RequestPending || r.State == domain.RequestApproved && !issued {
			requests = append(requests, r.ID)
		}
	}
	sort.Strings(grants)
	sort.Strings(requests)
	return grants, requests
}

// EndTeam ends what the team's deletion leaves: its grants are revoked,
// its pending requests denied and its open reviews closed.
func (s *Service) EndTeam(ctx context.Context, by, team string) error {
	grants, requests := s.TeamAccess(team)
	for _, id := range grants {
		if _, err := s.end(ctx, id, events.GrantRevokedRevoked, by); err != nil && !isConflict(err) && err != ErrNotFound {
			return err
		}
	}
	now := s.now().UTC()
	for _, id := range requests {
		_, err := s.requests.Mutate(ctx, id, func(r *domain.Request) error {
			if r.State != domain.RequestPending && r.State != domain.RequestApproved {
				return errUnchanged
			}
			r.State = domain.RequestDenied
			r.Denial = &domain.Decision{By: by, At: now, Reason: "team " + team + " was deleted"}
			return nil
		})
		if err != nil && err != ErrNotFound {
			return err
		}
	}
	for _, rv := range s.reviews.All() {
		if rv.Team != team || rv.State != domain.ReviewOpen {
			continue
		}
		_, err := s.reviews.Mutate(ctx, rv.ID, func(rv *domain.Review) error {
			if rv.State != domain.ReviewOpen {
				return errUnchanged
			}
			t := now
			rv.State, rv.ClosedAt = domain.ReviewClosed, &t
			return nil
		})
		if err != nil {
			return err
		}
	}
	return nil
}
