// Package adapters implements the access service's stores on JetStream KV.
package adapters

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/pave-platform/pave/pkg/kv"

	"github.com/pave-platform/pave/services/access/internal/app"
	"github.com/pave-platform/pave/services/access/internal/domain"
)

// TokenBucket is the KV bucket the access service owns for API tokens,
// keyed by the SHA-256 of the secret.
const TokenBucket = "ACCESS_TOKENS"

// KVTokens stores tokens in JetStream KV.
type KVTokens struct{ kv jetstream.KeyValue }

var _ app.TokenWriter = (*KVTokens)(nil)

// NewKVTokens declares the bucket (idempotently) and returns the store.
func NewKVTokens(ctx context.Context, js jetstream.JetStream, replicas int) (*KVTokens, error) {
	// A token is used as soon as it is issued, and revoked for good: the
	// bucket reads its own writes.
	b, err := kv.Declare(ctx, js, kv.Spec{Bucket: TokenBucket, Description: "API tokens by hash", History: 5, Replicas: replicas})
	if err != nil {
		return nil, err
	}
	return &KVTokens{kv: b}, nil
}

// ByHash finds a token.
func (s *KVTokens) ByHash(ctx context.Context, hash string) (domain.Token, error) {
	e, err := s.kv.Get(ctx, hash)
	if errors.Is(err, jetstream.ErrKeyNotFound) {
		return domain.Token{}, app.ErrTokenNotFound
	}
	if err != nil {
		return domain.Token{}, fmt.Errorf("get token: %w", err)
	}
	var t domain.Token
	if err := json.Unmarshal(e.Value(), &t); err != nil {
		return domain.Token{}, fmt.Errorf("decode token: %w", err)
	}
	return t, nil
}

// Create stores a token; an existing one with the same hash is kept.
func (s *KVTokens) Create(ctx context.Context, t domain.Token) error {
	raw, err := json.Marshal(t)
	if err != nil {
		return err
	}
	if _, err := s.kv.Create(ctx, t.Hash, raw); err != nil && !errors.Is(err, jetstream.ErrKeyExists) {
		return fmt.Errorf("store token %s: %w", t.ID, err)
	}
	return nil
}

// Put stores a changed token (last use, revocation).
func (s *KVTokens) Put(ctx context.Context, t domain.Token) error {
	raw, err := json.Marshal(t)
	if err != nil {
		return err
	}
	if _, err := s.kv.Put(ctx, t.Hash, raw); err != nil {
		return fmt.Errorf("store token %s: %w", t.ID, err)
	}
	return nil
}

// List returns every stored token.
func (s *KVTokens) List(ctx context.Context) ([]domain.Token, error) {
	lister, err := s.kv.ListKeys(ctx)
	if err != nil {
		return nil, fmt.Errorf("list tokens: %w", err)
	}
	var out []domain.Token
	for key := range lister.Keys() {
		t, err := s.ByHash(ctx, key)
		if errors.Is(err, app.ErrTokenNotFound) {
			continue
		}
		if err != nil {
			return nil, err
		}
		out = append(out, t)
	}
	return out, nil
}
