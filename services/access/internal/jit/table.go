package jit

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/pave-platform/pave/pkg/kv"
)

// table is a KV bucket of JSON objects with an in-memory copy kept fresh
// by a watch. Writes are compare-and-set on the key's revision (pkg/kv),
// so two access instances never both apply one change.
type table[T any] struct {
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

func openTable[T any](ctx context.Context, js jetstream.JetStream, bucket, desc string, replicas int, log *slog.Logger, onChange func(T)) (*table[T], error) {
	tbl, err := kv.Open[T](ctx, js, kv.Spec{Bucket: bucket, Description: desc, History: 5, Replicas: replicas})
	if err != nil {
		return nil, err
	}
	t := &table[T]{kv: tbl, log: log, onChange: onChange, items: map[string]versioned[T]{}}
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
func (t *table[T]) follow(w jetstream.KeyWatcher) {
	for e := range w.Updates() {
		if e != nil {
			t.apply(e)
		}
	}
}

func (t *table[T]) close() { _ = t.w.Stop() }

func (t *table[T]) apply(e jetstream.KeyValueEntry) {
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

func (t *table[T]) store(key string, v T, rev uint64) {
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

func (t *table[T]) get(key string) (T, bool) {
	t.mu.RLock()
	defer t.mu.RUnlock()
	v, ok := t.items[key]
	return v.v, ok
}

func (t *table[T]) all() []T {
	t.mu.RLock()
	defer t.mu.RUnlock()
	out := make([]T, 0, len(t.items))
	for _, v := range t.items {
		out = append(out, v.v)
	}
	return out
}

// create stores a new key; an existing one is an error matching
// jetstream.ErrKeyExists.
func (t *table[T]) create(ctx context.Context, key string, v T) error {
	rev, err := t.kv.Create(ctx, key, v)
	if err != nil {
		return fmt.Errorf("store %s: %w", key, err)
	}
	t.store(key, v, rev)
	return nil
}

// errUnchanged from a mutation means: nothing to write.
var errUnchanged = kv.ErrUnchanged

// mutate applies fn to the latest value and writes it back with
// compare-and-set, again from the latest value when another writer won.
// It returns the value written (or the latest when fn says errUnchanged).
func (t *table[T]) mutate(ctx context.Context, key string, fn func(*T) error) (T, error) {
	v, rev, err := t.kv.Update(ctx, key, fn)
	if errors.Is(err, kv.ErrNotFound) {
		return v, ErrNotFound
	}
	if err != nil {
		return v, err // fn's own error, or the table's naming the key
	}
	t.store(key, v, rev)
	return v, nil
}
