package app

import (
	"context"

	"github.com/pave-platform/pave/pkg/authn"
	"github.com/pave-platform/pave/services/lifecycle/internal/domain"
)

// UpdateWithCommit is Update that also records the commit the new
// revision runs (empty: none known).
func (s *Service) UpdateWithCommit(ctx context.Context, p authn.Principal, id string, params map[string]any, commit string) (domain.Environment, error) {
	if _, err := s.Get(ctx, p, id); err != nil {
		return domain.Environment{}, err
	}
	return s.updateRevision(ctx, id, params, commit, p.ID)
}

// CreateWithCommit is Create that also records the commit revision 1 runs
// (POST /v1/environments with a commit).
func (s *Service) CreateWithCommit(ctx context.Context, p authn.Principal, req domain.CreateRequest, commit string) (domain.Environment, error) {
	env, err := s.Create(ctx, p, req)
	if err != nil || commit == "" {
		return env, err
	}
	return mutate(ctx, s.envs, env.ID, func(e domain.Environment) (domain.Environment, error) {
		return e.WithCommit(commit), nil
	})
}

// updateRevision starts an update to a new revision by by: what PATCH
// does, and what a promotion and its rollback do.
func (s *Service) updateRevision(ctx context.Context, id string, params map[string]any, commit, by string) (domain.Environment, error) {
	cur, _, err := s.envs.Get(ctx, id)
	if err != nil {
		return cur, err
	}
	t, err := s.catalog.Get(cur.Template, cur.Version)
	if err != nil {
		return cur, err
	}
	if _, err := s.Transition(ctx, id, func(e domain.Environment) (domain.Environment, error) {
		e = e.RecordActivity(s.now())
		next, err := e.BeginUpdate(t, params, SagaID(e.ID, OpUpdate, e.NextRevision()), by, s.now())
		if err != nil {
			return e, err
		}
		return next.WithCommit(commit), nil
	}); err != nil {
		return cur, err
	}
	return s.startOperation(ctx, id)
}
