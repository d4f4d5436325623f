package bus_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/pave-platform/pave/pkg/bus"
	"github.com/pave-platform/pave/pkg/testkit"
)

// Every stream is declared with the retention of its purpose, and a
// stream that exists from before (no MaxAge, as main declared it) is
// brought to the declared config at the next start.
func TestStreamsKeepWhatTheirPurposeNeeds(t *testing.T) {
	js := testkit.NATS(t).JetStream(t)
	ctx := context.Background()
	old := bus.DefaultStreamOptions()
	old.EventRetention = 0
	require.NoError(t, bus.EnsureStreams(ctx, js, append(bus.CoreStreams(old), bus.ServiceStreams("lifecycle", old)...)...))

	o := bus.DefaultStreamOptions()
	o.MaxBytes = 8 << 20
	o.EventRetention = 72 * time.Hour
	declared := append(bus.CoreStreams(o), append(bus.ServiceStreams("lifecycle", o), bus.ServiceStreams("scheduler", o)...)...)
	require.NoError(t, bus.EnsureStreams(ctx, js, declared...))

	tests := []struct {
		give      string
		retention jetstream.RetentionPolicy
		maxAge    time.Duration
	}{
		{"CMD_LIFECYCLE", jetstream.WorkQueuePolicy, 0},
		{"EVT_LIFECYCLE", jetstream.LimitsPolicy, 72 * time.Hour},
		{"CMD_SCHEDULER", jetstream.WorkQueuePolicy, 0},
		{"EVT_SCHEDULER", jetstream.LimitsPolicy, 0}, // folded from sequence 1 by the scheduler
		{bus.StreamIngress, jetstream.LimitsPolicy, 72 * time.Hour},
		{bus.StreamDLQ, jetstream.LimitsPolicy, 72 * time.Hour},
		{bus.StreamPlatform, jetstream.LimitsPolicy, 72 * time.Hour},
		{bus.StreamAudit, jetstream.LimitsPolicy, 0}, // leaves only by the archiver's purge
	}
	for _, tt := range tests {
		s, err := js.Stream(ctx, tt.give)
		require.NoError(t, err, tt.give)
		info, err := s.Info(ctx)
		require.NoError(t, err, tt.give)
		assert.Equal(t, tt.retention, info.Config.Retention, tt.give)
		assert.Equal(t, tt.maxAge, info.Config.MaxAge, tt.give)
		assert.Equal(t, int64(8<<20), info.Config.MaxBytes, tt.give)
		assert.Equal(t, jetstream.DiscardNew, info.Config.Discard, tt.give)
	}
}

// The declared window and byte limit are in force on the server: a
// message older than the window leaves, and a publish past the limit is
// refused rather than evicting anything.
func TestStreamWindowAndLimitAreEnforced(t *testing.T) {
	js := testkit.NATS(t).JetStream(t)
	ctx := context.Background()
	o := bus.DefaultStreamOptions()
	o.MaxBytes = 64 << 10
	o.Duplicates = time.Second
	o.EventRetention = 2 * time.Second
	evt := bus.ServiceStreams("test", o)[1]
	require.NoError(t, bus.EnsureStreams(ctx, js, evt))

	_, err := js.Publish(ctx, "pave.evt.test.thing.a", []byte("old"))
	require.NoError(t, err)
	require.Eventually(t, func() bool { return streamInfo(t, js, "EVT_TEST").State.Msgs == 0 },
		30*time.Second, 100*time.Millisecond, "the message older than the 2s window was never removed")

	pad := []byte(strings.Repeat("x", 8<<10))
	var refused error
	for i := 0; i < 20 && refused == nil; i++ {
		_, refused = js.Publish(ctx, "pave.evt.test.thing.a", pad)
	}
	require.Error(t, refused, "64 KiB limit never reached with 160 KiB published")
	assert.Contains(t, refused.Error(), "maximum bytes exceeded")
	info := streamInfo(t, js, "EVT_TEST")
	assert.Equal(t, uint64(1), info.State.FirstSeq-1, "discard-new: nothing older was evicted to make room")
	assert.LessOrEqual(t, info.State.Bytes, uint64(64<<10))
}

func streamInfo(t *testing.T, js jetstream.JetStream, name string) *jetstream.StreamInfo {
	t.Helper()
	s, err := js.Stream(context.Background(), name)
	require.NoError(t, err)
	info, err := s.Info(context.Background())
	require.NoError(t, err)
	return info
}
