package app

import (
	"context"
	"errors"
	"time"

	"github.com/pave-platform/pave/pkg/authn"
	"github.com/pave-platform/pave/services/lifecycle/internal/domain"
)

// Get returns an environment the principal may see; another team's is
// ErrNotFound, exactly like a missing one.
func (s *Service) Get(ctx context.Context, p authn.Principal, id string) (domain.Environment, error) {
	env, _, err := s.envs.Get(ctx, id)
	if err != nil {
		return env, err
	}
	if !p.InTeam(env.Team) {
		return domain.Environment{}, ErrNotFound
	}
	return env, nil
}

// Filter narrows a list of environments.
type Filter struct {
	Team, Stage, State, Name string
}

// List returns the environments the principal may see that match f;
// deleted ones only when asked for by state.
func (s *Service) List(ctx context.Context, p authn.Principal, f Filter) ([]domain.Environment, error) {
	all, err := s.envs.List(ctx)
	if err != nil {
		return nil, err
	}
	out := []domain.Environment{}
	for _, e := range all {
		switch {
		case !p.InTeam(e.Team),
			f.Team != "" && e.Team != f.Team,
			f.Stage != "" && string(e.Stage) != f.Stage,
			f.State != "" && string(e.State) != f.State,
			f.Name != "" && e.Name != f.Name,
			f.State == "" && e.State == domain.StateDeleted:
			continue
		}
		out = append(out, e)
	}
	return out, nil
}

// Delete starts the teardown, from any state that may hold resources. A
// failed environment that holds nothing is deleted at once and its name
// freed. Deleting an environment already being torn down, or deleted,
// changes nothing and answers with it as it is.
func (s *Service) Delete(ctx context.Context, p authn.Principal, id, reason string) (domain.Environment, error) {
	if _, err := s.Get(ctx, p, id); err != nil {
		return domain.Environment{}, err
	}
	env, err := s.Transition(ctx, id, func(e domain.Environment) (domain.Environment, error) {
		switch {
		case e.State == domain.StateDecommissioning || e.State == domain.StateDeleted:
			return e, errNoChange
		case e.State == domain.StateFailed && !e.HoldsResources():
			e.Reason = reason
			return e.MarkDeleted(s.now())
		}
		return e.BeginTeardown(SagaID(e.ID, OpTeardown, e.Seq+1), reason, s.now())
	})
	if errors.Is(err, errNoChange) {
		return env, nil
	}
	if err != nil {
		return env, err
	}
	if env.State == domain.StateDeleted {
		return env, s.envs.Release(ctx, env.Team, env.Name, env.ID)
	}
	if err := s.abandonCreate(ctx, env); err != nil {
		// Reconcile aborts it on its next pass.
		s.log.Warn("create saga not aborted yet", "environment", id, "error", err)
	}
	return s.startOperation(ctx, id)
}

// errNoChange stops a Transition without an error to report.
var errNoChange = errors.New("no change")

// Update makes a new revision of the parameters and starts the update saga.
func (s *Service) Update(ctx context.Context, p authn.Principal, id string, params map[string]any) (domain.Environment, error) {
	cur, err := s.Get(ctx, p, id)
	if err != nil {
		return cur, err
	}
	if err := s.refuseWhenFull(ctx); err != nil {
		return cur, err
	}
	t, err := s.catalog.Get(cur.Template, cur.Version)
	if err != nil {
		return cur, err
	}
	if _, err := s.Transition(ctx, id, func(e domain.Environment) (domain.Environment, error) {
		// A new revision is activity: a template that renews on activity
		// gets a fresh lease.
		e = e.RecordActivity(s.now())
		return e.BeginUpdate(t, params, SagaID(e.ID, OpUpdate, e.NextRevision()), p.ID, s.now())
	}); err != nil {
		return cur, err
	}
	return s.startOperation(ctx, id)
}

// Extend moves an ephemeral environment's expiry to now + d (at most its
// maximum TTL); keep, when set, switches expiry off or on.
func (s *Service) Extend(ctx context.Context, p authn.Principal, id string, d time.Duration, keep *bool) (domain.Environment, error) {
	if _, err := s.Get(ctx, p, id); err != nil {
		return domain.Environment{}, err
	}
	return s.Transition(ctx, id, func(e domain.Environment) (domain.Environment, error) {
		var err error
		if keep != nil {
			if e, err = e.SetKeep(*keep, s.now()); err != nil {
				return e, err
			}
		}
		if d > 0 {
			return e.Extend(d, s.now())
		}
		return e, nil
	})
}
