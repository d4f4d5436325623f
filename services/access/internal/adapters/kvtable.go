package adapters

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/pave-platform/pave/pkg/kv"
	"github.com/pave-platform/pave/pkg/policy"
	"github.com/pave-platform/pave/services/access/internal/domain"
	"github.com/pave-platform/pave/services/access/internal/jit"
)

// KVTable is a KV bucket of JSON objects with an in-memory copy kept fresh
// by a watch. Writes are compare-and-set on the key's revision (pkg/kv),
// so two access instances never both apply one change.
type KVTable[T any] struct {
	kv       *kv.Table[T]
	w        jetstream.KeyWatcher
	log      *slog.Logger
	onChange func(T)

	mu    sync.RWMutex
	items map[string]versioned[T]
}

type versioned[T any] struct {
	v   T
	rev uint64
}

// OpenKVTable declares bucket (history 5) and loads it before it returns;
// onChange hears every value, at load and after.
func OpenKVTable[T any](ctx context.Context, js jetstream.JetStream, bucket, desc string, replicas int, log *slog.Logger, onChange func(T)) (*KVTable[T], error) {
	tbl, err := kv.Open[T](ctx, js, kv.Spec{Bucket: bucket, Description: desc, History: 5, Replicas: replicas})
	if err != nil {
		return nil, err
	}
	t := &KVTable[T]{kv: tbl, log: log, onChange: onChange, items: map[string]versioned[T]{}}
	// Load what is there before answering anything.
	w, err := tbl.Watch(ctx)
	if err != nil {
		return nil, err
	}
	for e := range w.Updates() {
		if e == nil {
			break
		}
		t.apply(e)
	}
	t.w = w
	go t.follow(w)
	return t, nil
}

// follow applies later changes (made by another instance) until stop.
func (t *KVTable[T]) follow(w jetstream.KeyWatcher) {
	for e := range w.Updates() {
		if e != nil {
			t.apply(e)
		}
	}
}

// Close stops the watch.
func (t *KVTable[T]) Close() { _ = t.w.Stop() }

func (t *KVTable[T]) apply(e jetstream.KeyValueEntry) {
	if e.Operation() != jetstream.KeyValuePut {
		t.mu.Lock()
		delete(t.items, e.Key())
		t.mu.Unlock()
		return
	}
	v, err := t.kv.Decode(e)
	if err != nil {
		t.log.Warn("undecodable entry", "key", e.Key(), "error", err)
		return
	}
	t.store(e.Key(), v, e.Revision())
}

func (t *KVTable[T]) store(key string, v T, rev uint64) {
	t.mu.Lock()
	cur, ok := t.items[key]
	if ok && cur.rev >= rev {
		t.mu.Unlock()
		return
	}
	t.items[key] = versioned[T]{v, rev}
	t.mu.Unlock()
	if t.onChange != nil {
		t.onChange(v)
	}
}

// Get is the value of key in the copy.
func (t *KVTable[T]) Get(key string) (T, bool) {
	t.mu.RLock()
	defer t.mu.RUnlock()
	v, ok := t.items[key]
	return v.v, ok
}

// All are the copy's values.
func (t *KVTable[T]) All() []T {
	t.mu.RLock()
	defer t.mu.RUnlock()
	out := make([]T, 0, len(t.items))
	for _, v := range t.items {
		out = append(out, v.v)
	}
	return out
}

// Create stores a new key; an existing one is an error matching
// jetstream.ErrKeyExists.
func (t *KVTable[T]) Create(ctx context.Context, key string, v T) error {
	rev, err := t.kv.Create(ctx, key, v)
	if err != nil {
		return fmt.Errorf("store %s: %w", key, err)
	}
	t.store(key, v, rev)
	return nil
}

// Mutate applies fn to the latest value and writes it back with
// compare-and-set, again from the latest value when another writer won.
// It returns the value written (or the latest when fn says
// kv.ErrUnchanged); a missing key is jit.ErrNotFound.
func (t *KVTable[T]) Mutate(ctx context.Context, key string, fn func(*T) error) (T, error) {
	v, rev, err := t.kv.Update(ctx, key, fn)
	if errors.Is(err, kv.ErrNotFound) {
		return v, jit.ErrNotFound
	}
	if err != nil {
		return v, err // fn's own error, or the table's naming the key
	}
	t.store(key, v, rev)
	return v, nil
}

// JITTables open the JIT service's three buckets.
func JITTables(js jetstream.JetStream, replicas int, log *slog.Logger) jit.Tables {
	return jit.Tables{
		Grants: func(ctx context.Context, onChange func(policy.Grant)) (jit.Table[policy.Grant], error) {
			return OpenKVTable(ctx, js, jit.GrantBucket, "just-in-time grants", replicas, log, onChange)
		},
		Requests: func(ctx context.Context, onChange func(domain.Request)) (jit.Table[domain.Request], error) {
			return OpenKVTable(ctx, js, jit.RequestBucket, "access requests", replicas, log, onChange)
		},
		Reviews: func(ctx context.Context, onChange func(domain.Review)) (jit.Table[domain.Review], error) {
			return OpenKVTable(ctx, js, jit.ReviewBucket, "access review campaigns", replicas, log, onChange)
		},
	}
}

var (
	_ jit.Table[policy.Grant]   = (*KVTable[policy.Grant])(nil)
	_ jit.Table[domain.Request] = (*KVTable[domain.Request])(nil)
	_ jit.Table[domain.Review]  = (*KVTable[domain.Review])(nil)
)
