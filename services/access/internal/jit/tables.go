package jit

import (
	"context"

	"github.com/pave-platform/pave/pkg/kv"
	"github.com/pave-platform/pave/pkg/policy"
	"github.com/pave-platform/pave/services/access/internal/domain"
)

// Table is a store of T the service reads from memory and writes by
// compare-and-set (adapters.KVTable).
type Table[T any] interface {
	// Get is the value of key, from memory.
	Get(key string) (T, bool)
	// All are every value, from memory.
	All() []T
	// Create stores a new key; an existing one matches jetstream.ErrKeyExists.
	Create(ctx context.Context, key string, v T) error
	// Mutate applies fn to the latest value and writes it back; fn's
	// errUnchanged writes nothing; a missing key is ErrNotFound.
	Mutate(ctx context.Context, key string, fn func(*T) error) (T, error)
	// Close stops following the store.
	Close()
}

// Tables open the service's stores; each calls onChange with every value,
// at load and after (another instance's writes included).
type Tables struct {
	Grants   func(ctx context.Context, onChange func(policy.Grant)) (Table[policy.Grant], error)
	Requests func(ctx context.Context, onChange func(domain.Request)) (Table[domain.Request], error)
	Reviews  func(ctx context.Context, onChange func(domain.Review)) (Table[domain.Review], error)
}

// errUnchanged from a mutation means: nothing to write.
var errUnchanged = kv.ErrUnchanged
