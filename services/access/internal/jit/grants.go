package jit

import (
	"context"
	"fmt"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/pave-platform/pave/pkg/authn"
	"github.com/pave-platform/pave/pkg/bus"
	"github.com/pave-platform/pave/pkg/events"
	"github.com/pave-platform/pave/pkg/policy"
	"github.com/pave-platform/pave/services/access/internal/domain"
)

// GrantFilter selects grants.
type GrantFilter struct {
	Team, EnvironmentID, Principal string
	// Active keeps only grants that count now.
	Active bool
	// Teams, when not nil, limits to these teams or Self's grants.
	Teams []string
	Self  string
}

// Grants lists grants.
func (s *Service) Grants(f GrantFilter) []policy.Grant {
	now := s.now()
	var out []policy.Grant
	for _, g := range s.grants.All() {
		switch {
		case f.Team != "" && g.Team != f.Team,
			f.Principal != "" && g.Principal != f.Principal,
			f.EnvironmentID != "" && !(g.Scope.Kind == events.GrantScopeEnvironment && g.Scope.EnvironmentID == f.EnvironmentID),
			f.Active && !g.CountsAt(now):
			continue
		}
		if f.Teams != nil && g.Principal != f.Self && !contains(f.Teams, g.Team) {
			continue
		}
		out = append(out, g)
	}
	return out
}

func contains(list []string, v string) bool {
	for _, x := range list {
		if x == v {
			return true
		}
	}
	return false
}

// Grant finds a grant.
func (s *Service) Grant(id string) (policy.Grant, bool) { return s.grants.Get(id) }

// domain.Revoke ends a grant early.
func (s *Service) Revoke(ctx context.Context, p authn.Principal, id string) (policy.Grant, error) {
	return s.end(ctx, id, events.GrantRevokedRevoked, actor(p))
}

// end stops a grant (once) and announces it.
func (s *Service) end(ctx context.Context, id, reason, by string) (policy.Grant, error) {
	now := s.now().UTC()
	g, err := s.grants.Mutate(ctx, id, func(g *policy.Grant) error {
		if g.State == policy.GrantEnded {
			if by != "" {
				return conflict("grant %s already ended (%s)", id, g.EndedReason)
			}
			return errUnchanged
		}
		g.State, g.EndedAt, g.EndedReason, g.EndedBy = policy.GrantEnded, &now, reason, by
		return nil
	})
	if err != nil {
		return g, err
	}
	if g.EndedAt == nil || !g.EndedAt.Equal(now) {
		return g, nil // someone else ended it
	}
	if err := s.record(ctx, firstNonEmpty(by, "access-service"), "revoke", g.Team, "grant:revoke", "Grant::"+g.ID,
		map[string]string{"reason": reason}); err != nil {
		s.log.Error("record grant end", "grant", g.ID, "error", err)
	}
	return g, s.announceEnd(ctx, g)
}

func firstNonEmpty(a, b string) string {
	if a != "" {
		return a
	}
	return b
}

// BreakGlassInput is the body of POST /v1/break-glass.
type BreakGlassInput struct {
	IncidentID string     `json:"incident_id"`
	Reason     string     `json:"reason"`
	Role       string     `json:"role"`
	Scope      ScopeInput `json:"scope"`
	Duration   string     `json:"duration"`
}

// BreakGlass issues an immediate grant in an incident, with a
// high-severity alert.
func (s *Service) BreakGlass(ctx context.Context, p authn.Principal, in BreakGlassInput) (policy.Grant, error) {
	now := s.now().UTC()
	if strings.TrimSpace(in.IncidentID) == "" {
		return policy.Grant{}, &domain.FieldError{Field: "incident_id", Message: "is required: name the incident"}
	}
	if strings.TrimSpace(in.Reason) == "" {
		return policy.Grant{}, &domain.FieldError{Field: "reason", Message: "is required"}
	}
	if in.Role == "" {
		in.Role = s.defaultBreakGlassRole()
	}
	scopes, ok := s.breakGlass[in.Role]
	if !ok {
		return policy.Grant{}, &domain.FieldError{Field: "role", Message: fmt.Sprintf("break-glass gives %s (PAVE_ACCESS_BREAK_GLASS_ROLES), not %q",
			s.breakGlassAllowed(), in.Role)}
	}
	if in.Duration == "" {
		in.Duration = MaxBreakGlass.String()
	}
	d, err := parseDuration("duration", in.Duration, MaxBreakGlass)
	if err != nil {
		return policy.Grant{}, err
	}
	sc, err := s.scope(in.Scope)
	if err != nil {
		return policy.Grant{}, err
	}
	if !slices.Contains(scopes, sc.Kind) {
		return policy.Grant{}, &domain.FieldError{Field: "scope", Message: fmt.Sprintf("break-glass as %s covers one %s (PAVE_ACCESS_BREAK_GLASS_ROLES), not a %s scope: name scope.%s",
			in.Role, strings.Join(scopes, " or one "), sc.Kind, scopeFields(scopes))}
	}
	g := policy.Grant{ID: newID("grt-"), Kind: policy.GrantKindBreakGlass, Principal: actor(p), Team: in.Scope.Team,
		Role: in.Role, Scope: sc, StartsAt: now, ExpiresAt: now.Add(d), IncidentID: strings.TrimSpace(in.IncidentID),
		Reason: strings.TrimSpace(in.Reason), CreatedAt: now, State: policy.GrantActive}
	if err := s.record(ctx, g.Principal, "break-glass", g.Team, "break-glass:activate", "Grant::"+g.ID,
		map[string]string{"incident": g.IncidentID, "reason": g.Reason, "role": g.Role}); err != nil {
		return policy.Grant{}, err
	}
	if err := s.grants.Create(ctx, g.ID, g); err != nil {
		return policy.Grant{}, err
	}
	// Every break-glass is reviewed afterwards by someone else.
	if _, err := s.openBreakGlassReview(ctx, g); err != nil {
		return g, err
	}
	// Announce at once (the timer would too, a moment later).
	return g, s.announceStart(ctx, g)
}

func (s *Service) defaultBreakGlassRole() string {
	if _, ok := s.breakGlass["maintainer"]; ok {
		return "maintainer"
	}
	best := ""
	for role := range s.breakGlass {
		if policy.RoleRank(role) > policy.RoleRank(best) {
			best = role
		}
	}
	return best
}

func (s *Service) breakGlassAllowed() string {
	var out []string
	for role, scopes := range s.breakGlass {
		for _, sc := range scopes {
			out = append(out, role+"@"+sc)
		}
	}
	sort.Strings(out)
	return strings.Join(out, ", ")
}

func scopeFields(scopes []string) string {
	var out []string
	for _, sc := range scopes {
		switch sc {
		case events.GrantScopeEnvironment:
			out = append(out, "environment_id")
		case events.GrantScopeStage:
			out = append(out, "stage")
		}
	}
	if len(out) == 0 {
		return "team"
	}
	return strings.Join(out, " or scope.")
}

// End is the holder ending their own grant early (a maintainer revokes
// others' with domain.Revoke). Someone else's grant is ErrNotOwn.
func (s *Service) End(ctx context.Context, p authn.Principal, id string) (policy.Grant, error) {
	g, ok := s.grants.Get(id)
	if !ok {
		return g, ErrNotFound
	}
	if g.Principal != actor(p) {
		return g, ErrNotOwn
	}
	return s.end(ctx, id, events.GrantRevokedRevoked, actor(p))
}

func (s *Service) publish(ctx context.Context, id, typ string, data any) error {
	e, err := bus.NewEvent(id, "pave/access", typ, data)
	if err != nil {
		return err
	}
	if err := s.pub.Publish(ctx, e); err != nil {
		return fmt.Errorf("publish %s: %w", typ, err)
	}
	return nil
}

// announceStart publishes a grant's activation (and a break-glass alert)
// once; event ids make a repeat a duplicate the stream drops.
func (s *Service) announceStart(ctx context.Context, g policy.Grant) error {
	if g.Kind == policy.GrantKindTeardown {
		if err := s.publish(ctx, g.ID+".teardown-approved", events.TypeTeardownApproved, events.TeardownApproved{
			GrantID: g.ID, Principal: g.Principal, Team: g.Team, Scope: g.Scope, StartsAt: g.StartsAt,
			ExpiresAt: g.ExpiresAt, RequestID: g.RequestID, ApprovedBy: g.ApprovedBy,
		}); err != nil {
			return err
		}
	} else {
		if err := s.publish(ctx, g.ID+".activated", events.TypeGrantActivated, events.GrantActivated{
			GrantID: g.ID, Principal: g.Principal, Team: g.Team, Role: g.Role, Scope: g.Scope, StartsAt: g.StartsAt,
			ExpiresAt: g.ExpiresAt, RequestID: g.RequestID, BreakGlass: g.Kind == policy.GrantKindBreakGlass,
		}); err != nil {
			return err
		}
		if g.Kind == policy.GrantKindBreakGlass {
			if err := s.publish(ctx, g.ID+".breakglass", events.TypeBreakGlassActivated, events.BreakGlassActivated{
				GrantID: g.ID, Principal: g.Principal, Team: g.Team, Role: g.Role, Scope: g.Scope, IncidentID: g.IncidentID,
				Reason: g.Reason, Severity: events.BreakGlassSeverityHigh, StartsAt: g.StartsAt, ExpiresAt: g.ExpiresAt,
			}); err != nil {
				return err
			}
			s.log.Warn("break-glass grant", "grant", g.ID, "principal", g.Principal, "team", g.Team, "incident", g.IncidentID)
		}
	}
	_, err := s.grants.Mutate(ctx, g.ID, func(g *policy.Grant) error {
		if g.ActivationAnnounced {
			return errUnchanged
		}
		g.ActivationAnnounced = true
		return nil
	})
	return err
}

// announceEnd publishes a grant's end once. Every grant that may have
// started is announced (its activation may be on the wire while the flag
// saying so is not yet stored); a consumer ignores an unknown grant.
func (s *Service) announceEnd(ctx context.Context, g policy.Grant) error {
	switch {
	case g.EndedAt == nil || g.EndedAt.Before(g.StartsAt):
		// never started: nothing to take back
	case g.Kind == policy.GrantKindTeardown:
		if err := s.publish(ctx, g.ID+".teardown-ended", events.TypeTeardownEnded, events.TeardownEnded{
			GrantID: g.ID, Principal: g.Principal, Team: g.Team, Scope: g.Scope, Reason: g.EndedReason,
			EndedAt: *g.EndedAt, By: g.EndedBy,
		}); err != nil {
			return err
		}
	default:
		by := g.EndedBy
		if err := s.publish(ctx, g.ID+".revoked", events.TypeGrantRevoked, events.GrantRevoked{
			GrantID: g.ID, Principal: g.Principal, Team: g.Team, Role: g.Role, Scope: g.Scope, Reason: g.EndedReason,
			RevokedAt: *g.EndedAt, By: by,
		}); err != nil {
			return err
		}
	}
	_, err := s.grants.Mutate(ctx, g.ID, func(g *policy.Grant) error {
		if g.EndAnnounced {
			return errUnchanged
		}
		g.EndAnnounced = true
		return nil
	})
	return err
}

// MarkUsed records the last time grants made a decision allow.
func (s *Service) MarkUsed(ctx context.Context, ids []string, at time.Time) {
	for _, id := range ids {
		_, err := s.grants.Mutate(ctx, id, func(g *policy.Grant) error {
			if g.LastUsedAt != nil && !at.After(*g.LastUsedAt) {
				return errUnchanged
			}
			t := at.UTC()
			g.LastUsedAt = &t
			return nil
		})
		if err != nil && err != ErrNotFound {
			s.log.Warn("record grant use", "grant", id, "error", err)
		}
	}
}

// Run starts and ends grants, expires requests and closes reviews on
// time until ctx ends. It sleeps until the next deadline (or a change).
func (s *Service) Run(ctx context.Context) {
	timer := time.NewTimer(0)
	defer timer.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-timer.C:
		case <-s.wake:
		}
		next := s.tick(ctx)
		if !timer.Stop() {
			select {
			case <-timer.C:
			default:
			}
		}
		timer.Reset(max(time.Until(next), time.Millisecond))
	}
}

// tick does what is due and returns when to look again.
func (s *Service) tick(ctx context.Context) time.Time {
	now := s.now()
	next := now.Add(time.Minute)
	soon := func(t time.Time) {
		if t.Before(next) {
			next = t
		}
	}
	retry := now.Add(time.Second)
	for _, g := range s.grants.All() {
		var err error
		switch {
		case g.State == policy.GrantEnded:
			if !g.EndAnnounced {
				if err = s.announceEnd(ctx, g); err != nil {
					soon(retry)
				}
			}
		case !now.Before(g.ExpiresAt):
			_, err = s.end(ctx, g.ID, events.GrantRevokedExpired, "")
			if err != nil {
				soon(retry)
			}
		case g.State == policy.GrantScheduled && !now.Before(g.StartsAt):
			var started policy.Grant
			started, err = s.grants.Mutate(ctx, g.ID, func(g *policy.Grant) error {
				if g.State != policy.GrantScheduled {
					return errUnchanged
				}
				g.State = policy.GrantActive
				return nil
			})
			if err == nil {
				err = s.announceStart(ctx, started)
			}
			soon(g.ExpiresAt)
		case g.State == policy.GrantScheduled:
			soon(g.StartsAt)
		default: // active
			if !g.ActivationAnnounced {
				err = s.announceStart(ctx, g)
			}
			soon(g.ExpiresAt)
		}
		if err != nil {
			s.log.Warn("grant timer", "grant", g.ID, "error", err)
			soon(retry)
		}
	}
	for _, r := range s.requests.All() {
		switch {
		case r.State == domain.RequestPending && !now.Before(r.ExpiresAt):
			_, err := s.requests.Mutate(ctx, r.ID, func(r *domain.Request) error {
				if r.State != domain.RequestPending {
					return errUnchanged
				}
				r.State = domain.RequestExpired
				return nil
			})
			if err != nil {
				s.log.Warn("expire request", "request", r.ID, "error", err)
				soon(retry)
			}
		case r.State == domain.RequestPending:
			soon(r.ExpiresAt)
		case r.State == domain.RequestApproved:
			if _, ok := s.grants.Get(r.GrantID); !ok {
				if err := s.issue(ctx, r, now.UTC()); err != nil {
					s.log.Warn("issue grant", "request", r.ID, "error", err)
					soon(retry)
				}
			}
		}
	}
	for _, rv := range s.reviews.All() {
		if rv.State != domain.ReviewOpen {
			continue
		}
		if now.Before(rv.Deadline) {
			soon(rv.Deadline)
			continue
		}
		if err := s.closeReview(ctx, rv.ID); err != nil {
			s.log.Warn("close review", "review", rv.ID, "error", err)
			soon(retry)
		}
	}
	return next
}
