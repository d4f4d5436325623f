package adapters

import (
	"context"
	"errors"
	"fmt"

	"github.com/nats-io/nats.go/jetstream"
)

// SnapshotBucket is the object store of the leader's snapshots: one
// object, replaced by each new snapshot (the store keeps the latest
// version of a name only), within the bucket's byte bound.
const SnapshotBucket = "SCHEDULER_SNAPSHOT"

const snapshotObject = "state"

// Snapshots keeps the scheduler's latest snapshot in SnapshotBucket.
type Snapshots struct {
	os jetstream.ObjectStore
}

// NewSnapshots declares the bucket, bounded to maxBytes.
func NewSnapshots(ctx context.Context, js jetstream.JetStream, replicas int, maxBytes int64) (*Snapshots, error) {
	os, err := js.CreateOrUpdateObjectStore(ctx, jetstream.ObjectStoreConfig{Bucket: SnapshotBucket,
		Description: "the scheduler leader's latest snapshot", MaxBytes: maxBytes, Storage: jetstream.FileStorage,
		Replicas: max(replicas, 1), Compression: true})
	if err != nil {
		return nil, fmt.Errorf("snapshot bucket: %w", err)
	}
	return &Snapshots{os: os}, nil
}

// Load reads the latest snapshot; false when there is none.
func (s *Snapshots) Load(ctx context.Context) ([]byte, bool, error) {
	raw, err := s.os.GetBytes(ctx, snapshotObject)
	if errors.Is(err, jetstream.ErrObjectNotFound) {
		return nil, false, nil
	}
	if err != nil {
		return nil, false, fmt.Errorf("load snapshot: %w", err)
	}
	return raw, true, nil
}

// Save replaces the snapshot.
func (s *Snapshots) Save(ctx context.Context, raw []byte) error {
	if _, err := s.os.PutBytes(ctx, snapshotObject, raw); err != nil {
		return fmt.Errorf("save snapshot: %w", err)
	}
	return nil
}
