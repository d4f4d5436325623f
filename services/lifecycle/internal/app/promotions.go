package app

import (
	"context"

	"github.com/pave-platform/pave/pkg/events"
	"github.com/pave-platform/pave/pkg/saga"
	"github.com/pave-platform/pave/services/lifecycle/internal/domain"
)

// What the promotion package (services/lifecycle/internal/promotion)
// uses of the environments: it reads them as stored and moves one to a
// new revision, which the update saga then applies.

// Stored is environment id as stored, without an authorization check:
// the promotion saga acts for a request already authorized.
func (s *Service) Stored(ctx context.Context, id string) (domain.Environment, error) {
	env, _, err := s.envs.Get(ctx, id)
	return env, err
}

// StoredAll lists every stored environment.
func (s *Service) StoredAll(ctx context.Context) ([]domain.Environment, error) {
	return s.envs.List(ctx)
}

// UpdateRevision makes a new revision of environment id with params and
// commit, recorded as by, and starts its update saga.
func (s *Service) UpdateRevision(ctx context.Context, id string, params map[string]any, commit, by string) (domain.Environment, error) {
	return s.updateRevision(ctx, id, params, commit, by)
}

// SagaCommand is a saga command of type typ carrying v.
func SagaCommand(typ string, v any) (saga.Command, error) { return command(typ, v) }

// RefOf is the saga step a command or result names.
func RefOf(s events.Saga) saga.Ref { return fromSaga(s) }

// SagaOf names saga step r in a command or result.
func SagaOf(r saga.Ref) events.Saga { return toSaga(r) }

// Deliver hands in to the saga at ref; a saga that is gone or refuses the
// input is a permanent failure of the message.
func Deliver(ctx context.Context, d SagaDeliverer, in saga.Input, ref saga.Ref) error {
	return deliver(ctx, d, in, ref)
}
