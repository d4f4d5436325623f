package ratelimit

import (
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/pave-platform/pave/pkg/kv"
)

// KV keeps each key's state in a JetStream KV bucket; every change is a
// compare-and-set on the key's revision, so replicas never over-admit.
type KV struct {
	kv    jetstream.KeyValue
	limit Limit
	now   func() time.Time
}

var _ Limiter = (*KV)(nil)

// NewKV limits keys to limit with state in bucket (created if missing).
// A key's state expires when it no longer matters: after one full burst.
func NewKV(ctx context.Context, js jetstream.JetStream, bucket string, replicas int, limit Limit) (*KV, error) {
	if err := limit.Validate(); err != nil {
		return nil, err
	}
	ttl := max(limit.emission()*time.Duration(limit.Burst)+time.Second, time.Minute)
	b, err := kv.Declare(ctx, js, kv.Spec{Bucket: bucket, Description: "rate limit state per API token",
		History: 1, TTL: ttl, Replicas: replicas})
	if err != nil {
		return nil, err
	}
	return &KV{kv: b, limit: limit, now: time.Now}, nil
}

// Allow implements Limiter.
func (k *KV) Allow(ctx context.Context, key string) (Result, error) {
	name := "k." + hex.EncodeToString([]byte(key))
	for {
		var tat time.Time
		var rev uint64
		e, err := k.kv.Get(ctx, name)
		switch {
		case errors.Is(err, jetstream.ErrKeyNotFound):
		case err != nil:
			return Result{}, fmt.Errorf("rate limit %s: %w", key, err)
		default:
			us, perr := strconv.ParseInt(string(e.Value()), 10, 64)
			if perr == nil {
				tat = time.UnixMicro(us)
			}
			rev = e.Revision()
		}
		res, next := gcra(k.limit, tat, k.now())
		if !res.Allowed {
			return res, nil
		}
		val := []byte(strconv.FormatInt(next.UnixMicro(), 10))
		if rev == 0 {
			_, err = k.kv.Create(ctx, name, val)
		} else {
			_, err = k.kv.Update(ctx, name, val, rev)
		}
		switch {
		case err == nil:
			return res, nil
		case errors.Is(err, jetstream.ErrKeyExists), errors.Is(err, jetstream.ErrKeyRevisionMismatch):
			if ctx.Err() != nil {
				return Result{}, fmt.Errorf("rate limit %s: %w: %w", key, ErrContention, ctx.Err())
			}
			continue // another request won the race: decide again
		default:
			return Result{}, fmt.Errorf("rate limit %s: %w", key, err)
		}
	}
}
