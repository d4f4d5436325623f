// Package adapters keeps the cost service's state in JetStream KV buckets.
package adapters

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/pave-platform/pave/pkg/kv"

	"github.com/pave-platform/pave/services/cost/internal/app"
)

// Buckets the cost service owns.
const (
	MetersBucket  = "COST_METERS"
	BudgetsBucket = "COST_BUDGETS"
	AlertsBucket  = "COST_ALERTS"
)

// ErrNotFound is a key that holds nothing.
var ErrNotFound = app.ErrNotFound

var (
	_ app.Store       = (*KV)(nil)
	_ app.Claims      = (*KV)(nil)
	_ app.BudgetStore = (*KV)(nil)
	_ app.Reader      = (*Index)(nil)
)

// KV is one bucket whose writes are compare-and-set.
type KV struct {
	kv     jetstream.KeyValue
	raw    *kv.Table[json.RawMessage]
	forget *kv.Forgetter
}

// OpenKV creates or updates bucket name.
func OpenKV(ctx context.Context, js jetstream.JetStream, name string, replicas int) (*KV, error) {
	b, err := kv.Declare(ctx, js, kv.Spec{Bucket: name, Replicas: replicas, History: 1})
	if err != nil {
		return nil, err
	}
	f, err := kv.NewForgetter(ctx, js, b)
	if err != nil {
		return nil, err
	}
	return &KV{kv: b, raw: kv.Over[json.RawMessage](b), forget: f}, nil
}

// Forget removes key's value when stale says it may go (kv.Forgetter), and answers
// whether the key is gone. It removes the value it checked and nothing
// written after it (the purge stops at its revision), and leaves no
// delete marker: a forgotten key takes no room at all.
func (k *KV) Forget(ctx context.Context, key string, stale func(cur []byte) bool) (bool, error) {
	return k.forget.Forget(ctx, key, stale)
}

// Bucket is the underlying bucket.
func (k *KV) Bucket() jetstream.KeyValue { return k.kv }

// Get reads key; ErrNotFound when it holds nothing.
func (k *KV) Get(ctx context.Context, key string) ([]byte, error) {
	e, err := k.kv.Get(ctx, key)
	if errors.Is(err, jetstream.ErrKeyNotFound) {
		return nil, ErrNotFound
	}
	if err != nil {
		return nil, fmt.Errorf("get %s: %w", key, err)
	}
	return e.Value(), nil
}

// Mutate applies change to key's value (nil when absent) with
// compare-and-set, retrying on a concurrent write. A nil result from
// change writes nothing. Values are JSON.
func (k *KV) Mutate(ctx context.Context, key string, change func(cur []byte) ([]byte, error)) error {
	_, _, err := k.raw.Upsert(ctx, key, func(v *json.RawMessage, exists bool) error {
		var cur []byte
		if exists {
			cur = *v
		}
		next, err := change(cur)
		if err != nil {
			return err
		}
		if next == nil {
			return kv.ErrUnchanged
		}
		*v = next
		return nil
	})
	return err
}

// Create writes key only if it holds nothing; false when it did.
func (k *KV) Create(ctx context.Context, key string, value []byte) (bool, error) {
	_, err := k.kv.Create(ctx, key, value)
	if errors.Is(err, jetstream.ErrKeyExists) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("create %s: %w", key, err)
	}
	return true, nil
}

// Put overwrites key.
func (k *KV) Put(ctx context.Context, key string, value []byte) error {
	if _, err := k.kv.Put(ctx, key, value); err != nil {
		return fmt.Errorf("put %s: %w", key, err)
	}
	return nil
}

// Values lists every value whose key has prefix.
func (k *KV) Values(ctx context.Context, prefix string) ([][]byte, error) {
	lister, err := k.kv.ListKeysFiltered(ctx, prefix+">")
	if err != nil {
		return nil, fmt.Errorf("list %s: %w", prefix, err)
	}
	var out [][]byte
	for key := range lister.Keys() {
		v, err := k.Get(ctx, key)
		if errors.Is(err, ErrNotFound) {
			continue
		}
		if err != nil {
			return nil, err
		}
		out = append(out, v)
	}
	return out, nil
}
