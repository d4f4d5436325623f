package promotion

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/pave-platform/pave/pkg/authn"
	"github.com/pave-platform/pave/pkg/bus"
	"github.com/pave-platform/pave/pkg/events"
	"github.com/pave-platform/pave/services/lifecycle/internal/domain"
)

// Application and promotion errors.
var (
	ErrApplicationNotFound = errors.New("application not found")
	ErrPromotionNotFound   = errors.New("promotion not found")
	ErrApplicationTaken    = errors.New("application name used by another team")
)

// Applications stores application pipelines by name.
type Applications interface {
	Put(ctx context.Context, a domain.Application) error
	Get(ctx context.Context, name string) (domain.Application, error)
	List(ctx context.Context) ([]domain.Application, error)
}

// ListApplications returns the applications of the principal's teams
// (of team, when given), by name.
func (s *Promoter) ListApplications(ctx context.Context, p authn.Principal, team string) ([]domain.Application, error) {
	all, err := s.apps.List(ctx)
	if err != nil {
		return nil, err
	}
	out := []domain.Application{}
	for _, a := range all {
		if p.InTeam(a.Team) && (team == "" || a.Team == team) {
			out = append(out, a)
		}
	}
	slices.SortFunc(out, func(a, b domain.Application) int { return strings.Compare(a.Name, b.Name) })
	return out, nil
}

// GetApplication returns an application of the principal's teams; another
// team's is ErrApplicationNotFound, exactly like a missing one.
func (s *Promoter) GetApplication(ctx context.Context, p authn.Principal, name string) (domain.Application, error) {
	a, err := s.apps.Get(ctx, name)
	if err != nil {
		return a, err
	}
	if !p.InTeam(a.Team) {
		return domain.Application{}, ErrApplicationNotFound
	}
	return a, nil
}

// PutApplication creates or replaces an application's pipeline. A name
// held by another team is refused without saying which.
func (s *Promoter) PutApplication(ctx context.Context, p authn.Principal, a domain.Application) (domain.Application, error) {
	a, err := a.Validate()
	if err != nil {
		return a, err
	}
	if !p.InTeam(a.Team) {
		return a, &domain.ValidationError{Fields: []domain.FieldError{{Field: "team", Message: "unknown team, or not yours"}}}
	}
	cur, err := s.apps.Get(ctx, a.Name)
	switch {
	case err == nil && cur.Team != a.Team:
		return a, ErrApplicationTaken
	case err != nil && !errors.Is(err, ErrApplicationNotFound):
		return a, err
	}
	if err := s.apps.Put(ctx, a); err != nil {
		return a, err
	}
	stages := make([]string, len(a.Stages))
	for i, st := range a.Stages {
		stages[i] = st.Name
	}
	now := s.now()
	ev := events.ApplicationConfigured{Name: a.Name, Team: a.Team, Repository: a.Repository, Stages: stages, By: p.ID, At: now}
	e, err := bus.NewEvent(fmt.Sprintf("application/%s/%d", a.Name, now.UnixNano()), "pave/lifecycle", events.TypeApplicationConfigured, ev)
	if err == nil {
		err = s.pub.Publish(ctx, e)
	}
	if err != nil {
		s.log.Warn("application event not published", "application", a.Name, "error", err)
	}
	return a, nil
}

// LoadApplications stores the applications of the configuration file:
// the file wins over what the API set for the same name.
func (s *Promoter) LoadApplications(ctx context.Context, apps []domain.Application) error {
	for _, a := range apps {
		if err := s.apps.Put(ctx, a); err != nil {
			return fmt.Errorf("store application %s: %w", a.Name, err)
		}
	}
	return nil
}

// Candidate is the application's newest push to its default branch, nil
// when none was reported. The caller has already read the application.
func (s *Promoter) Candidate(ctx context.Context, name string) (*domain.Candidate, error) {
	c, ok, err := s.ci.Candidate(ctx, name)
	if err != nil || !ok {
		return nil, err
	}
	return &c, nil
}
