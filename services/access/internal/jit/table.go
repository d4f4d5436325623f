package jit

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/pave-platform/pave/pkg/bus"
)

// table is a KV bucket of JSON objects with an in-memory copy kept fresh
// by a watch. Writes are compare-and-set on the key's revision, so two
// access instances never both apply one change.
type table[T any] struct {
	kv       jetstream.KeyValue
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
	kv, err := js.CreateOrUpdateKeyValue(ctx, jetstream.KeyValueConfig{
		Bucket: bucket, Description: desc, History: 5, Storage: jetstream.FileStorage, Replicas: max(replicas, 1),
	})
	if err != nil {
		return nil, fmt.Errorf("declare bucket %s: %w", bucket, err)
	}
	if kv, err = bus.ReadYourWrites(ctx, js, kv); err != nil {
		return nil, err
	}
	t := &table[T]{kv: kv, log: log, onChange: onChange, items: map[string]versioned[T]{}}
	// Load what is there before answering anything.
	w, err := kv.WatchAll(ctx)
	if err != nil {
		return nil, fmt.Errorf("watch bucket %s: %w", bucket, err)
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
	var v T
	if err := json.Unmarshal(e.Value(), &v); err != nil {
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

func (t *table[T]) create(ctx context.Context, key string, v T) error {
	raw, err := json.Marshal(v)
	if err != nil {
		return err
	}
	rev, err := t.kv.Create(ctx, key, raw)
	if err != nil {
		return fmt.Errorf("store %s: %w", key, err)
	}
	t.store(key, v, rev)
	return nil
}

// errUnchanged from a mutation means: nothing to write.
var errUnchanged = errors.New("unchanged")

// mutate reads the latest value, applies fn and writes it back with
// compare-and-set, again from the latest value when another writer won.
// It returns the value written (or the latest when fn says errUnchanged).
func (t *table[T]) mutate(ctx context.Context, key string, fn func(*T) error) (T, error) {
	var zero T
	for attempt := 0; attempt < 20; attempt++ {
		e, err := t.kv.Get(ctx, key)
		if errors.Is(err, jetstream.ErrKeyNotFound) {
			return zero, ErrNotFound
		}
		if err != nil {
			return zero, fmt.Errorf("read %s: %w", key, err)
		}
		var v T
		if err := json.Unmarshal(e.Value(), &v); err != nil {
			return zero, fmt.Errorf("decode %s: %w", key, err)
		}
		t.store(key, v, e.Revision())
		if err := fn(&v); err != nil {
			if errors.Is(err, errUnchanged) {
				return v, nil
			}
			return v, err
		}
		raw, err := json.Marshal(v)
		if err != nil {
			return zero, err
		}
		rev, err := t.kv.Update(ctx, key, raw, e.Revision())
		var apiErr *jetstream.APIError
		if errors.As(err, &apiErr) && apiErr.ErrorCode == jetstream.JSErrCodeStreamWrongLastSequence {
			time.Sleep(time.Duration(attempt+1) * time.Millisecond)
			continue
		}
		if err != nil {
			return zero, fmt.Errorf("store %s: %w", key, err)
		}
		t.store(key, v, rev)
		return v, nil
	}
	return zero, fmt.Errorf("store %s: kept losing the race with another writer", key)
}
