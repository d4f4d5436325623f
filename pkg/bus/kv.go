package bus

import (
	"context"
	"fmt"

	"github.com/nats-io/nats.go/jetstream"
)

// ReadYourWrites makes every read of a replicated bucket go to the stream
// leader, which holds every write it has acknowledged. By default a bucket
// allows direct gets, which any replica answers; a replica that has not
// applied the latest write yet answers with the value before it, or with
// nothing for a key just created (nats-server#6557). A store that writes a
// key and reads it back, or does compare-and-set from what it read, needs
// this. A single-replica bucket is left as it is: its one server is the
// leader.
func ReadYourWrites(ctx context.Context, js jetstream.JetStream, kv jetstream.KeyValue) (jetstream.KeyValue, error) {
	st, err := js.Stream(ctx, "KV_"+kv.Bucket())
	if err != nil {
		return nil, fmt.Errorf("bucket %s: %w", kv.Bucket(), err)
	}
	cfg := st.CachedInfo().Config
	if cfg.Replicas <= 1 {
		return kv, nil
	}
	if cfg.AllowDirect {
		cfg.AllowDirect = false
		if _, err := js.UpdateStream(ctx, cfg); err != nil {
			return nil, fmt.Errorf("bucket %s: turn off direct gets: %w", kv.Bucket(), err)
		}
	}
	return js.KeyValue(ctx, kv.Bucket())
}
