package bus_test

import (
	"context"
	"testing"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/pave-platform/pave/pkg/bus"
	"github.com/pave-platform/pave/pkg/testkit"
)

// On a three-node cluster a replicated bucket's reads go to its leader:
// direct gets are off, and a key read back right after each write is the
// value written, through a connection to every node. A one-replica bucket
// keeps direct gets.
func TestReadYourWritesTurnsOffDirectGetsOnReplicatedBuckets(t *testing.T) {
	ctx := context.Background()
	c := testkit.NATSCluster(t, 3)
	js := c.JetStream(t)
	for _, tt := range []struct {
		bucket   string
		replicas int
		direct   bool
	}{
		{"R3", 3, false},
		{"R1", 1, true},
	} {
		kv, err := js.CreateOrUpdateKeyValue(ctx, jetstream.KeyValueConfig{Bucket: tt.bucket, Replicas: tt.replicas})
		require.NoError(t, err)
		kv, err = bus.ReadYourWrites(ctx, js, kv)
		require.NoError(t, err)
		st, err := js.Stream(ctx, "KV_"+tt.bucket)
		require.NoError(t, err)
		info, err := st.Info(ctx)
		require.NoError(t, err)
		assert.Equal(t, tt.direct, info.Config.AllowDirect, tt.bucket)

		for i := range 3 {
			nc, err := nats.Connect(c.URLs()[i])
			require.NoError(t, err)
			t.Cleanup(nc.Close)
			njs, err := jetstream.New(nc)
			require.NoError(t, err)
			nkv, err := njs.KeyValue(ctx, tt.bucket)
			require.NoError(t, err)
			key := "k" + string(rune('a'+i))
			_, err = kv.Create(ctx, key, []byte("v"))
			require.NoError(t, err)
			e, err := nkv.Get(ctx, key)
			require.NoError(t, err, "%s: %s read back", tt.bucket, key)
			assert.Equal(t, "v", string(e.Value()))
		}
	}
}
