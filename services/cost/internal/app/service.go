// Package app holds the cost service's use cases: one file per command,
// event family or API area.
package app

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"time"

	"github.com/cloudevents/sdk-go/v2/event"

	"github.com/pave-platform/pave/services/cost/internal/domain"
)

// Store is a bucket written with compare-and-set.
type Store interface {
	Get(ctx context.Context, key string) ([]byte, error)
	Mutate(ctx context.Context, key string, change func(cur []byte) ([]byte, error)) error
	// Forget removes key's value if stale says so; true when it is gone.
	Forget(ctx context.Context, key string, stale func(cur []byte) bool) (bool, error)
}

// Claims records what was announced, so each alert goes out once.
type Claims interface {
	Get(ctx context.Context, key string) ([]byte, error)
	Create(ctx context.Context, key string, value []byte) (bool, error)
	Put(ctx context.Context, key string, value []byte) error
}

// BudgetStore holds the teams' budgets.
type BudgetStore interface {
	Get(ctx context.Context, key string) ([]byte, error)
	Put(ctx context.Context, key string, value []byte) error
	Values(ctx context.Context, prefix string) ([][]byte, error)
}

// Reader gives the current meters and their lines.
type Reader interface {
	Read(f func(domain.Snapshot, []domain.Line))
	// Forget removes from memory the meters e names that are still
	// closed before horizon.
	Forget(e domain.Expired, horizon time.Time)
}

// Publisher publishes events and waits for the ack.
type Publisher interface {
	Publish(ctx context.Context, e event.Event) error
}

// ErrNotFound is a key or resource that does not exist.
var ErrNotFound = errors.New("not found")

// Service holds the cost use cases.
type Service struct {
	card    domain.RateCard
	meters  Store
	index   Reader
	budgets BudgetStore
	claims  Claims
	pub     Publisher
	tmpl    Templates
	log     *slog.Logger
	now     func() time.Time
	keep    time.Duration
}

// Deps are what the service works with.
type Deps struct {
	Card      domain.RateCard
	Meters    Store
	Index     Reader
	Budgets   BudgetStore
	Claims    Claims
	Publisher Publisher
	Templates Templates
	Log       *slog.Logger
	// Now is the clock; nil is the wall clock.
	Now func() time.Time
	// Retention is how long closed meters are kept; zero keeps them all.
	Retention time.Duration
}

// NewService builds the cost use cases.
func NewService(d Deps) *Service {
	now := d.Now
	if now == nil {
		now = func() time.Time { return time.Now().UTC() }
	}
	return &Service{card: d.Card, meters: d.Meters, index: d.Index, budgets: d.Budgets, claims: d.Claims,
		pub: d.Publisher, tmpl: d.Templates, log: d.Log, now: now, keep: d.Retention}
}

// Card is the rate card in use.
func (s *Service) Card() domain.RateCard { return s.card }

// mutateJSON applies change to the JSON value at key (the zero T when
// absent); change answers false to write nothing.
func mutateJSON[T any](ctx context.Context, st Store, key string, change func(*T) bool) error {
	return st.Mutate(ctx, key, func(cur []byte) ([]byte, error) {
		var v T
		if cur != nil {
			if err := json.Unmarshal(cur, &v); err != nil {
				return nil, err
			}
		}
		if !change(&v) {
			return nil, nil
		}
		return json.Marshal(v)
	})
}
