package kv

import (
	"context"
	"errors"
	"fmt"

	"github.com/nats-io/nats.go/jetstream"
)

// Forgetter removes the keys of finished things from one bucket, once
// their owner's retention says they may go (the cost meters, the
// provisioning ledger's tombstones).
type Forgetter struct {
	kv     jetstream.KeyValue
	stream jetstream.Stream
}

// NewForgetter opens the stream under bucket b (KV_<bucket>).
func NewForgetter(ctx context.Context, js jetstream.JetStream, b jetstream.KeyValue) (*Forgetter, error) {
	s, err := js.Stream(ctx, "KV_"+b.Bucket())
	if err != nil {
		return nil, fmt.Errorf("open bucket %s: %w", b.Bucket(), err)
	}
	return &Forgetter{kv: b, stream: s}, nil
}

// Forget removes key when stale says the value it holds may go, and
// answers whether the key is gone. It removes the value it checked, its
// older revisions and nothing written after it (the purge stops at its
// revision), and leaves no delete marker: a forgotten key takes no room
// at all, and a later Create of it succeeds. Watchers are not told; a
// bucket whose watchers must see the key go purges with a marker instead
// (Spec.MarkerTTL).
func (f *Forgetter) Forget(ctx context.Context, key string, stale func(cur []byte) bool) (bool, error) {
	e, err := f.kv.Get(ctx, key)
	switch {
	case errors.Is(err, jetstream.ErrKeyNotFound):
		return true, nil
	case err != nil:
		return false, fmt.Errorf("get %s: %w", key, err)
	case !stale(e.Value()):
		return false, nil
	}
	subject := "$KV." + f.kv.Bucket() + "." + key
	if err := f.stream.Purge(ctx, jetstream.WithPurgeSubject(subject), jetstream.WithPurgeSequence(e.Revision()+1)); err != nil {
		return false, fmt.Errorf("forget %s: %w", key, err)
	}
	_, err = f.kv.Get(ctx, key)
	return errors.Is(err, jetstream.ErrKeyNotFound), nil
}
