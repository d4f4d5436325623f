// Package app holds the lifecycle service's command and query handlers.
package app

import (
	"context"
	"errors"

	"github.com/pave-platform/pave/pkg/kv"
	"github.com/pave-platform/pave/services/lifecycle/internal/domain"
)

// Store errors.
var (
	ErrNotFound  = errors.New("environment not found")
	ErrNameTaken = errors.New("name already used in the team")
	ErrConflict  = errors.New("environment changed concurrently")
)

// Environments is the environment store: every write is a compare-and-set.
type Environments interface {
	Reserve(ctx context.Context, team, name, id string) error
	Release(ctx context.Context, team, name, id string) error
	Create(ctx context.Context, e domain.Environment) error
	Get(ctx context.Context, id string) (domain.Environment, uint64, error)
	Update(ctx context.Context, e domain.Environment, rev uint64) error
	List(ctx context.Context) ([]domain.Environment, error)
	// Reconcilable lists the environments that are not at rest
	// (domain.Environment.AtRest): all reconcile needs to look at.
	Reconcilable(ctx context.Context) ([]domain.Environment, error)
	// Purge removes an environment for good if it is still at rev
	// (ErrConflict otherwise).
	Purge(ctx context.Context, id string, rev uint64) error
}

// mutate applies change to the stored environment, re-reading and
// re-applying on a concurrent write (kv.Retry, through the interface, so
// that its decorators see the write). change must be pure.
func mutate(ctx context.Context, s Environments, id string, change func(domain.Environment) (domain.Environment, error)) (domain.Environment, error) {
	return kv.Retry(ctx, ErrConflict,
		func() (domain.Environment, uint64, error) { return s.Get(ctx, id) },
		func(e domain.Environment, rev uint64) error { return s.Update(ctx, e, rev) }, change)
}
