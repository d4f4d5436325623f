// Package kv is a typed table of JSON values in a JetStream key-value
// bucket: one declaration (with a byte bound, and a TTL for buckets of
// finished things), get, create, compare-and-set update with a closure
// that is retried on conflict, delete, list and watch. Reads go to the
// stream leader (read-your-writes, see bus.ReadYourWrites), so a store may
// write a key and read it back.
//
//	Declare(spec) ─ CreateOrUpdateKeyValue (MaxBytes, TTL, History) ─ ReadYourWrites
//	Update(key, fn) ─ Get (value, revision) ─ fn(&v) ─ Update at revision ─┐
//	                      ▲                                                │ wrong revision
//	                      └────────────────────────────────────────────────┘
//
// Retention and fill metrics can be added here, once, for every store.
package kv

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/pave-platform/pave/pkg/bus"
)

// DefaultMaxBytes bounds a bucket whose spec names no bound: 256 MiB.
const DefaultMaxBytes int64 = 256 << 20

// Errors a table returns; match them with errors.Is.
var (
	ErrNotFound = errors.New("kv: not found")
	ErrConflict = errors.New("kv: written meanwhile")
	// ErrUnchanged from an update's closure means: write nothing.
	ErrUnchanged = errors.New("kv: unchanged")
)

// Spec declares a bucket.
type Spec struct {
	Bucket      string
	Description string
	// Replicas: 1 for pave dev, 3 in production (PAVE_STREAM_REPLICAS).
	Replicas int
	// History is how many revisions of a key are kept; default 1.
	History uint8
	// MaxBytes bounds the bucket; at the bound a write fails rather than
	// anything old being dropped. Zero: DefaultMaxBytes.
	MaxBytes int64
	// TTL, for a bucket of finished things, removes a key this long after
	// its last write. Zero: keys stay until deleted.
	TTL time.Duration
	// MarkerTTL, when set, lets a key be removed on its own: a purge may
	// carry a TTL, and the marker a removal leaves stays this long so
	// that watchers see the key go.
	MarkerTTL time.Duration
}

// Config is the bucket configuration spec declares.
func (s Spec) Config() jetstream.KeyValueConfig {
	c := jetstream.KeyValueConfig{Bucket: s.Bucket, Description: s.Description, History: max(s.History, 1),
		Storage: jetstream.FileStorage, Replicas: max(s.Replicas, 1), MaxBytes: s.MaxBytes, TTL: s.TTL,
		LimitMarkerTTL: s.MarkerTTL}
	if c.MaxBytes <= 0 {
		c.MaxBytes = DefaultMaxBytes
	}
	return c
}

// Declare creates or updates the bucket and turns on read-your-writes.
func Declare(ctx context.Context, js jetstream.JetStream, spec Spec) (jetstream.KeyValue, error) {
	kv, err := js.CreateOrUpdateKeyValue(ctx, spec.Config())
	if err != nil {
		return nil, fmt.Errorf("declare bucket %s: %w", spec.Bucket, err)
	}
	return bus.ReadYourWrites(ctx, js, kv)
}

// Table is a bucket of JSON values of type T.
type Table[T any] struct{ kv jetstream.KeyValue }

// Open declares the bucket and returns its table.
func Open[T any](ctx context.Context, js jetstream.JetStream, spec Spec) (*Table[T], error) {
	kv, err := Declare(ctx, js, spec)
	if err != nil {
		return nil, err
	}
	return Over[T](kv), nil
}

// Over is the table of a bucket declared elsewhere.
func Over[T any](kv jetstream.KeyValue) *Table[T] { return &Table[T]{kv: kv} }

// Bucket is the underlying bucket (for a watch the table does not wrap).
func (t *Table[T]) Bucket() jetstream.KeyValue { return t.kv }

// Get reads key: its value and revision, or ErrNotFound.
func (t *Table[T]) Get(ctx context.Context, key string) (T, uint64, error) {
	var v T
	e, err := t.kv.Get(ctx, key)
	if errors.Is(err, jetstream.ErrKeyNotFound) || errors.Is(err, jetstream.ErrKeyDeleted) {
		return v, 0, fmt.Errorf("get %s: %w", key, ErrNotFound)
	}
	if err != nil {
		return v, 0, fmt.Errorf("get %s: %w", key, err)
	}
	v, err = t.Decode(e)
	return v, e.Revision(), err
}

// Decode reads an entry's value (from a watch, say).
func (t *Table[T]) Decode(e jetstream.KeyValueEntry) (T, error) {
	var v T
	if err := json.Unmarshal(e.Value(), &v); err != nil {
		return v, fmt.Errorf("decode %s: %w", e.Key(), err)
	}
	return v, nil
}

// Create writes key only if it holds nothing (a deleted key's marker
// counts as nothing); ErrConflict if it does.
func (t *Table[T]) Create(ctx context.Context, key string, v T) (uint64, error) {
	return t.Write(ctx, key, v, 0)
}

// Write creates key when rev is 0, else replaces it at revision rev;
// ErrConflict when the key is not (or no longer) at rev.
func (t *Table[T]) Write(ctx context.Context, key string, v T, rev uint64) (uint64, error) {
	raw, err := json.Marshal(v)
	if err != nil {
		return 0, fmt.Errorf("encode %s: %w", key, err)
	}
	var n uint64
	if rev == 0 {
		n, err = t.kv.Create(ctx, key, raw)
	} else {
		n, err = t.kv.Update(ctx, key, raw, rev)
	}
	if isConflict(err) {
		// Both match: ErrConflict, and the server's reason.
		return 0, fmt.Errorf("write %s: %w: %w", key, ErrConflict, err)
	}
	if err != nil {
		return 0, fmt.Errorf("write %s: %w", key, err)
	}
	return n, nil
}

// Put overwrites key, whatever it holds.
func (t *Table[T]) Put(ctx context.Context, key string, v T) (uint64, error) {
	raw, err := json.Marshal(v)
	if err != nil {
		return 0, fmt.Errorf("encode %s: %w", key, err)
	}
	n, err := t.kv.Put(ctx, key, raw)
	if err != nil {
		return 0, fmt.Errorf("put %s: %w", key, err)
	}
	return n, nil
}

// maxAttempts bounds an update's retries against other writers.
const maxAttempts = 50

// Update applies fn to the latest value of key and writes the result at
// the revision it read, again from the latest value when another writer
// won. It returns the value written and its revision (or the latest and
// its revision, when fn answers ErrUnchanged). ErrNotFound when the key
// holds nothing.
func (t *Table[T]) Update(ctx context.Context, key string, fn func(*T) error) (T, uint64, error) {
	return t.mutate(ctx, key, false, func(v *T, _ bool) error { return fn(v) })
}

// Upsert is Update that also creates the key: fn gets the zero T and
// exists false when the key holds nothing.
func (t *Table[T]) Upsert(ctx context.Context, key string, fn func(v *T, exists bool) error) (T, uint64, error) {
	return t.mutate(ctx, key, true, fn)
}

func (t *Table[T]) mutate(ctx context.Context, key string, create bool, fn func(*T, bool) error) (T, uint64, error) {
	var (
		exists, fnFailed, writeFailed bool
		rev, written                  uint64
		seen                          T // what fn made of the value, answered when fn says no
	)
	get := func() (T, uint64, error) {
		v, r, err := t.Get(ctx, key)
		exists, rev = err == nil, r
		if create && errors.Is(err, ErrNotFound) {
			return v, 0, nil
		}
		return v, r, err
	}
	change := func(v T) (T, error) {
		err := fn(&v, exists)
		seen, fnFailed = v, err != nil
		return v, err
	}
	put := func(v T, r uint64) (err error) {
		written, err = t.Write(ctx, key, v, r)
		writeFailed = err != nil && !errors.Is(err, ErrConflict)
		return err
	}
	v, err := Retry(ctx, ErrConflict, get, put, change)
	var zero T
	switch {
	case err == nil:
		return v, written, nil
	case fnFailed && errors.Is(err, ErrUnchanged):
		return seen, rev, nil
	case fnFailed:
		return seen, rev, err
	case writeFailed:
		return v, 0, err
	}
	return zero, 0, addKey(key, err) // a failed read, the end of ctx, or too many lost races
}

// addKey names key in an error that does not name it yet.
func addKey(key string, err error) error {
	if strings.Contains(err.Error(), key) {
		return err
	}
	return fmt.Errorf("write %s: %w", key, err)
}

// Retry is the compare-and-set loop, the one in Pave: it reads with get,
// applies change, and writes with put at the revision it read; when put's
// error matches conflict another writer won, and it reads again, pausing a
// little longer each time, at most maxAttempts times. Table.Update runs
// on it; so does a store that keeps a Table behind an interface of its
// own, so that the interface's decorators see every write. change must be
// pure; its error stops the loop, and Retry answers the value read with
// it. A failed write answers the value it tried to write.
func Retry[T any](ctx context.Context, conflict error, get func() (T, uint64, error), put func(T, uint64) error, change func(T) (T, error)) (T, error) {
	for attempt := range maxAttempts {
		cur, rev, err := get()
		if err != nil {
			return cur, err
		}
		next, err := change(cur)
		if err != nil {
			return cur, err
		}
		if err := put(next, rev); !errors.Is(err, conflict) {
			return next, err
		}
		if err := backoff(ctx, attempt); err != nil {
			return cur, err
		}
	}
	var zero T
	return zero, fmt.Errorf("kept losing the race with other writers: %w", conflict)
}

// backoff waits a little longer after each lost race, so that writers
// who keep colliding spread out.
func backoff(ctx context.Context, attempt int) error {
	t := time.NewTimer(time.Duration(attempt+1) * time.Millisecond)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

// Delete forgets key if it is still at revision rev (any revision when
// rev is 0); ErrConflict if it changed.
func (t *Table[T]) Delete(ctx context.Context, key string, rev uint64) error {
	var opts []jetstream.KVDeleteOpt
	if rev > 0 {
		opts = append(opts, jetstream.LastRevision(rev))
	}
	err := t.kv.Delete(ctx, key, opts...)
	if isConflict(err) {
		return fmt.Errorf("delete %s: %w", key, ErrConflict)
	}
	if err != nil {
		return fmt.Errorf("delete %s: %w", key, err)
	}
	return nil
}

// Entry is one key's value and revision.
type Entry[T any] struct {
	Key      string
	Value    T
	Revision uint64
}

// List reads every live key matching filter (">" for all) with one watch
// of the current values.
func (t *Table[T]) List(ctx context.Context, filter string) ([]Entry[T], error) {
	w, err := t.kv.Watch(ctx, filter, jetstream.IgnoreDeletes())
	if err != nil {
		return nil, fmt.Errorf("list %s: %w", filter, err)
	}
	defer func() { _ = w.Stop() }()
	var out []Entry[T]
	for {
		select {
		case <-ctx.Done():
			return nil, fmt.Errorf("list %s: %w", filter, ctx.Err())
		case e, ok := <-w.Updates():
			if !ok {
				return nil, fmt.Errorf("list %s: watcher closed", filter)
			}
			if e == nil {
				return out, nil
			}
			v, err := t.Decode(e)
			if err != nil {
				return nil, err
			}
			out = append(out, Entry[T]{Key: e.Key(), Value: v, Revision: e.Revision()})
		}
	}
}

// Watch follows keys matching filters: first their current values, then
// a nil entry, then every change, deletes included, until ctx ends or the
// watcher is stopped. Decode the values with Decode.
func (t *Table[T]) Watch(ctx context.Context, filters ...string) (jetstream.KeyWatcher, error) {
	if len(filters) == 0 {
		filters = []string{">"}
	}
	w, err := t.kv.WatchFiltered(ctx, filters)
	if err != nil {
		return nil, fmt.Errorf("watch %s %v: %w", t.kv.Bucket(), filters, err)
	}
	return w, nil
}

func isConflict(err error) bool {
	if errors.Is(err, jetstream.ErrKeyExists) || errors.Is(err, jetstream.ErrKeyRevisionMismatch) {
		return true
	}
	var apiErr *jetstream.APIError
	return errors.As(err, &apiErr) && apiErr.ErrorCode == jetstream.JSErrCodeStreamWrongLastSequence
}

// Follow applies every change of the keys matching filters to put and del
// (first the current values, then each change) until ctx ends or the
// watcher closes; a value that does not decode is passed over. It is how
// an in-memory index follows its own service's table.
func (t *Table[T]) Follow(ctx context.Context, put func(key string, v T), del func(key string), filters ...string) error {
	w, err := t.Watch(ctx, filters...)
	if err != nil {
		return err
	}
	defer func() { _ = w.Stop() }()
	for {
		select {
		case <-ctx.Done():
			return nil
		case e, ok := <-w.Updates():
			if !ok {
				return nil
			}
			if e == nil {
				continue
			}
			if e.Operation() != jetstream.KeyValuePut {
				del(e.Key())
				continue
			}
			if v, err := t.Decode(e); err == nil {
				put(e.Key(), v)
			}
		}
	}
}
