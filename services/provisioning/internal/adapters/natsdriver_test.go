package adapters_test

import (
	"context"
	"net"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/pave-platform/pave/pkg/testkit"
	"github.com/pave-platform/pave/services/provisioning/internal/adapters"
	"github.com/pave-platform/pave/services/provisioning/internal/domain"
)

func TestNATSDriverGivesEachResourceAStream(t *testing.T) {
	ctx := context.Background()
	js := testkit.NATS(t).JetStream(t)
	d := adapters.NewNATS(js, "nats://127.0.0.1:4222", nil)
	r := domain.Resource{ID: "env1-events", EnvironmentID: "env1", Driver: "nats",
		Parameters: map[string]any{"max_bytes": float64(1 << 20), "max_age": "24h"}}

	res, err := d.Provision(ctx, r)
	require.NoError(t, err)
	assert.Equal(t, map[string]string{"stream": "pave_env1_events", "subject_prefix": "env.env1-events.",
		"url": "nats://127.0.0.1:4222"}, res.Outputs)
	assert.Nil(t, res.Credentials)
	_, err = d.Provision(ctx, r)
	require.NoError(t, err, "provisioning twice is fine")

	_, err = js.Publish(ctx, "env.env1-events.orders.created", []byte("{}"))
	require.NoError(t, err, "the stream takes the resource's subjects")
	s, err := js.Stream(ctx, "pave_env1_events")
	require.NoError(t, err)
	assert.Equal(t, int64(1<<20), s.CachedInfo().Config.MaxBytes)
	assert.Equal(t, 24*time.Hour, s.CachedInfo().Config.MaxAge)

	require.NoError(t, d.Sanitize(ctx, r.ID))
	info, err := s.Info(ctx)
	require.NoError(t, err)
	assert.Zero(t, info.State.Msgs, "sanitize purges the messages")

	r.Parameters = map[string]any{"max_msgs": float64(100)}
	_, err = d.Update(ctx, r)
	require.NoError(t, err)
	info, err = s.Info(ctx)
	require.NoError(t, err)
	assert.Equal(t, int64(100), info.Config.MaxMsgs)

	inv, err := d.Inventory(ctx)
	require.NoError(t, err)
	assert.Equal(t, []string{"stream:pave_env1_events"}, inv)

	existed, err := d.Deprovision(ctx, r.ID)
	require.NoError(t, err)
	assert.True(t, existed)
	_, err = js.Stream(ctx, "pave_env1_events")
	assert.ErrorIs(t, err, jetstream.ErrStreamNotFound)
	existed, err = d.Deprovision(ctx, r.ID)
	require.NoError(t, err)
	assert.False(t, existed)
	assert.NoError(t, d.Sanitize(ctx, r.ID), "sanitizing what is gone is fine")
}

func TestNATSDriverRefusesBadParametersPermanently(t *testing.T) {
	d := adapters.NewNATS(testkit.NATS(t).JetStream(t), "", nil)
	tests := []map[string]any{
		{"max_age": "forever"},
		{"max_bytes": "lots"},
		{"replicas": float64(3)},
		{"max_bytes": float64(-1)},
		{"max_bytes": float64(1 << 40)},
	}
	for _, give := range tests {
		_, err := d.Provision(context.Background(), domain.Resource{ID: "x", Driver: "nats", Parameters: give})
		require.Error(t, err)
		assert.True(t, domain.IsPermanent(err), "%v: %v", give, err)
	}
}

// Issue 19, finding 5: with pave dev's in-process connection the driver
// reported nats://127.0.0.1:4222 whatever the embedded server listened on.
func TestNATSClientURLIsWhereTheServerListens(t *testing.T) {
	tests := []struct {
		name      string
		connected string
		embedded  bool
		listen    net.Addr
		want      string
	}{
		{"external server", "nats://nats.internal:4222", false, nil, "nats://nats.internal:4222"},
		{"embedded, listening", "nats://127.0.0.1:4222", true, &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 41733}, "nats://127.0.0.1:41733"},
		{"embedded, listening everywhere", "nats://127.0.0.1:4222", true, &net.TCPAddr{IP: net.IPv4zero, Port: 5222}, "nats://127.0.0.1:5222"},
		{"embedded, in-process only", "nats://127.0.0.1:4222", true, nil, ""},
	}
	for _, tt := range tests {
		assert.Equal(t, tt.want, adapters.ClientURL(tt.connected, tt.embedded, tt.listen), tt.name)
	}
}

// Sizes are bounded by the resource class, like connection limits: a
// small stream is at most 256 MiB, a large one 4 GiB, and "unlimited"
// (-1) is refused, so one tenant cannot fill the shared server's disk.
func TestAttackTenantStreamSizeIsBoundedByItsClass(t *testing.T) {
	ctx := context.Background()
	d := adapters.NewNATS(testkit.NATS(t).JetStream(t), "", nil)
	for _, tt := range []struct {
		class string
		bytes float64
	}{{"small", 256<<20 + 1}, {"", 256<<20 + 1}, {"medium", 1<<30 + 1}, {"large", 4<<30 + 1}, {"small", -1}, {"small", 0}} {
		_, err := d.Provision(ctx, domain.Resource{ID: "greedy-stream", Driver: "nats", Class: tt.class,
			Parameters: map[string]any{"max_bytes": tt.bytes}})
		require.Error(t, err, "%+v", tt)
		assert.True(t, domain.IsPermanent(err), "%+v: %v", tt, err)
		assert.Contains(t, err.Error(), "max_bytes", "%+v", tt)
	}
	_, err := d.Provision(ctx, domain.Resource{ID: "fair-stream", Driver: "nats", Class: "large",
		Parameters: map[string]any{"max_bytes": float64(4 << 30)}})
	require.NoError(t, err, "a large stream may have its class's bound")
}
