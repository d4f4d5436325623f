package adapters_test

import (
	"context"
	"testing"
	"time"

	"github.com/cloudevents/sdk-go/v2/event"
	"github.com/nats-io/nats.go"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/pave-platform/pave/pkg/bus"
	"github.com/pave-platform/pave/pkg/events"
	"github.com/pave-platform/pave/pkg/schema"
	"github.com/pave-platform/pave/pkg/testkit"
	"github.com/pave-platform/pave/services/scheduler/internal/adapters"
)

// TestDeposedLeaderCannotAppend: two instances read the log at the same
// point; the first to append wins and the other is fenced off.
func TestDeposedLeaderCannotAppend(t *testing.T) {
	srv := testkit.NATS(t)
	reg, err := schema.Default()
	require.NoError(t, err)
	b, err := bus.New(srv.Conn(t), reg, schema.SubjectFor)
	require.NoError(t, err)
	ctx := context.Background()
	require.NoError(t, bus.EnsureStreams(ctx, b.JetStream(), bus.ServiceStreams("scheduler", bus.DefaultStreamOptions())...))
	ev := func(id string) *nats.Msg {
		e, err := bus.NewEvent(id, "test", events.TypeSchedulerLeadership,
			events.LeaderElected{Instance: id, Term: 1, At: time.Now().UTC()})
		require.NoError(t, err)
		msg, err := b.Message(ctx, e)
		require.NoError(t, err)
		return msg
	}
	old := adapters.NewLog(b.JetStream(), 0)
	require.NoError(t, old.Append(ctx, []*nats.Msg{ev("a1"), ev("a2")}))

	last, n, err := adapters.Replay(ctx, b.JetStream(), 0, func(uint64, event.Event) error { return nil })
	require.NoError(t, err)
	assert.EqualValues(t, 2, last)
	assert.EqualValues(t, 2, n)

	next := adapters.NewLog(b.JetStream(), last)
	require.NoError(t, next.Append(ctx, []*nats.Msg{ev("b1")}))
	err = old.Append(ctx, []*nats.Msg{ev("a3"), ev("a4")})
	require.ErrorIs(t, err, adapters.ErrFenced, "the deposed leader's append must fail")

	_, n, err = adapters.Replay(ctx, b.JetStream(), 0, func(uint64, event.Event) error { return nil })
	require.NoError(t, err)
	assert.EqualValues(t, 3, n, "nothing of the deposed leader's batch is in the log")
}
