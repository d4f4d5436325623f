package dedup

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/pave-platform/pave/pkg/kv"
)

// KV keeps claims in a JetStream KV bucket whose max age is the TTL: a
// claim is a create, which fails when the key exists.
type KV struct {
	kv jetstream.KeyValue
}

var _ Store = (*KV)(nil)

// NewKV creates the bucket if absent (or updates its TTL) with replicas
// copies.
func NewKV(ctx context.Context, js jetstream.JetStream, bucket string, ttl time.Duration, replicas int) (*KV, error) {
	b, err := kv.Declare(ctx, js, kv.Spec{Bucket: bucket, Description: "claimed delivery ids", TTL: ttl, History: 1,
		Replicas: replicas})
	if err != nil {
		return nil, err
	}
	return &KV{kv: b}, nil
}

// Claim creates the key; an existing key means seen.
func (k *KV) Claim(ctx context.Context, key string) (bool, error) {
	if key == "" {
		return false, ErrEmptyKey
	}
	_, err := k.kv.Create(ctx, kvKey(key), []byte(time.Now().UTC().Format(time.RFC3339)))
	switch {
	case err == nil:
		return true, nil
	case errors.Is(err, jetstream.ErrKeyExists):
		return false, nil
	}
	return false, fmt.Errorf("claim %s in bucket %s: %w", key, k.kv.Bucket(), err)
}

// Release purges the key, so Create succeeds again.
func (k *KV) Release(ctx context.Context, key string) error {
	if err := k.kv.Purge(ctx, kvKey(key)); err != nil {
		return fmt.Errorf("release %s in bucket %s: %w", key, k.kv.Bucket(), err)
	}
	return nil
}
