package adapters

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/pave-platform/pave/pkg/kv"

	"github.com/pave-platform/pave/services/provisioning/internal/app"
	"github.com/pave-platform/pave/services/provisioning/internal/domain"
)

// LedgerBucket is the KV bucket provisioning owns: one key per resource id.
const LedgerBucket = "PROVISIONING_LEDGER"

// KVLedger is the resource ledger on JetStream KV; every write is a
// compare-and-set on the key's revision.
type KVLedger struct {
	kv     jetstream.KeyValue
	forget *kv.Forgetter
}

var (
	_ app.Ledger          = (*KVLedger)(nil)
	_ app.LedgerLister    = (*KVLedger)(nil)
	_ app.TombstoneLedger = (*KVLedger)(nil)
)

// NewKVLedger declares the bucket (idempotently) and returns the ledger.
func NewKVLedger(ctx context.Context, js jetstream.JetStream, replicas int) (*KVLedger, error) {
	// The ledger is read before every compare-and-set of a resource: the
	// bucket reads its own writes.
	b, err := kv.Declare(ctx, js, kv.Spec{Bucket: LedgerBucket,
		Description: "provisioning: resource ledger (state, external ids, sealed credentials) by resource id",
		History:     10, Replicas: replicas})
	if err != nil {
		return nil, err
	}
	f, err := kv.NewForgetter(ctx, js, b)
	if err != nil {
		return nil, err
	}
	return &KVLedger{kv: b, forget: f}, nil
}

// Get reads a record; app.ErrNotFound if the id was never recorded.
func (l *KVLedger) Get(ctx context.Context, id string) (domain.Record, error) {
	e, err := l.kv.Get(ctx, id)
	if errors.Is(err, jetstream.ErrKeyNotFound) {
		return domain.Record{}, app.ErrNotFound
	}
	if err != nil {
		return domain.Record{}, fmt.Errorf("get ledger record %s: %w", id, err)
	}
	return decodeRecord(e)
}

// Create writes a new record; app.ErrConflict if the id is recorded.
func (l *KVLedger) Create(ctx context.Context, r domain.Record) (domain.Record, error) {
	raw, err := json.Marshal(r)
	if err != nil {
		return domain.Record{}, fmt.Errorf("encode ledger record %s: %w", r.ResourceID, err)
	}
	rev, err := l.kv.Create(ctx, r.ResourceID, raw)
	if errors.Is(err, jetstream.ErrKeyExists) {
		return domain.Record{}, fmt.Errorf("create ledger record %s: %w", r.ResourceID, app.ErrConflict)
	}
	if err != nil {
		return domain.Record{}, fmt.Errorf("create ledger record %s: %w", r.ResourceID, err)
	}
	r.Revision = rev
	return r, nil
}

// Update writes r if r.Revision is still the latest; app.ErrConflict if not.
func (l *KVLedger) Update(ctx context.Context, r domain.Record) (domain.Record, error) {
	raw, err := json.Marshal(r)
	if err != nil {
		return domain.Record{}, fmt.Errorf("encode ledger record %s: %w", r.ResourceID, err)
	}
	rev, err := l.kv.Update(ctx, r.ResourceID, raw, r.Revision)
	if errors.Is(err, jetstream.ErrKeyRevisionMismatch) || errors.Is(err, jetstream.ErrKeyExists) {
		return domain.Record{}, fmt.Errorf("update ledger record %s at revision %d: %w", r.ResourceID, r.Revision, app.ErrConflict)
	}
	if err != nil {
		return domain.Record{}, fmt.Errorf("update ledger record %s: %w", r.ResourceID, err)
	}
	r.Revision = rev
	return r, nil
}

// List reads every record, tombstones included.
func (l *KVLedger) List(ctx context.Context) ([]domain.Record, error) {
	w, err := l.kv.WatchAll(ctx, jetstream.IgnoreDeletes())
	if err != nil {
		return nil, fmt.Errorf("list ledger: %w", err)
	}
	defer func() { _ = w.Stop() }()
	var out []domain.Record
	for {
		select {
		case <-ctx.Done():
			return nil, fmt.Errorf("list ledger: %w", ctx.Err())
		case e, ok := <-w.Updates():
			if !ok {
				return nil, errors.New("list ledger: watcher closed")
			}
			if e == nil { // every current value has been delivered
				return out, nil
			}
			r, err := decodeRecord(e)
			if err != nil {
				return nil, err
			}
			out = append(out, r)
		}
	}
}

// Forget removes id's record, every revision and without a marker, if
// stale says the record as stored may go; true when it is gone. A record
// that does not decode stays.
func (l *KVLedger) Forget(ctx context.Context, id string, stale func(domain.Record) bool) (bool, error) {
	return l.forget.Forget(ctx, id, func(raw []byte) bool {
		var r domain.Record
		return json.Unmarshal(raw, &r) == nil && stale(r)
	})
}

func decodeRecord(e jetstream.KeyValueEntry) (domain.Record, error) {
	var r domain.Record
	if err := json.Unmarshal(e.Value(), &r); err != nil {
		return domain.Record{}, fmt.Errorf("decode ledger record %s: %w", e.Key(), err)
	}
	r.Revision = e.Revision()
	return r, nil
}
