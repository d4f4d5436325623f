package bus_test

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/pave-platform/pave/pkg/bus"
)

// Scan reads what is stored when it starts, in order, through a filter,
// from a start sequence, and stops when asked; what is published during
// the scan is not read; the consumer it reads with is gone afterwards.
func TestScanReadsWhatIsStoredAtItsStart(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	for i := range 1200 {
		e.publishOn(t, []string{"a", "b"}[i%2], newThing(t, fmt.Sprintf("t-%d", i), i))
	}
	read := func(cfg jetstream.OrderedConsumerConfig, stopAt int, during func()) []int {
		var got []int
		require.NoError(t, bus.Scan(ctx, e.js, "EVT_TEST", cfg, func(m jetstream.Msg) (bool, error) {
			ev, err := bus.Decode(m.Headers(), m.Data())
			require.NoError(t, err)
			n := dataOf(t, ev).N
			got = append(got, n)
			if len(got) == 1 && during != nil {
				during()
			}
			return n != stopAt, nil
		}))
		return got
	}
	all := read(jetstream.OrderedConsumerConfig{}, -1, func() { e.publishOn(t, "a", newThing(t, "late", 5000)) })
	require.Len(t, all, 1200, "every stored message, none published during the scan")
	for i, n := range all {
		require.Equal(t, i, n, "in stream order")
	}
	bs := read(jetstream.OrderedConsumerConfig{FilterSubjects: []string{"pave.evt.test.thing.b"}}, -1, nil)
	require.Len(t, bs, 600)
	assert.Equal(t, 1, bs[0])
	assert.Equal(t, 1199, bs[len(bs)-1])
	from := read(jetstream.OrderedConsumerConfig{DeliverPolicy: jetstream.DeliverByStartSequencePolicy, OptStartSeq: 1001}, -1, nil)
	assert.Equal(t, []int{1000, 5000}, []int{from[0], from[len(from)-1]}, "from sequence 1001 to the last stored")
	assert.Len(t, read(jetstream.OrderedConsumerConfig{}, 9, nil), 10, "stopped by each")
	assert.Empty(t, read(jetstream.OrderedConsumerConfig{DeliverPolicy: jetstream.DeliverByStartSequencePolicy, OptStartSeq: 99999}, -1, nil))

	stop := errors.New("stop")
	assert.ErrorIs(t, bus.Scan(ctx, e.js, "EVT_TEST", jetstream.OrderedConsumerConfig{}, func(jetstream.Msg) (bool, error) { return true, stop }), stop)
	assert.ErrorIs(t, bus.Scan(ctx, e.js, "EVT_NOPE", jetstream.OrderedConsumerConfig{}, nil), jetstream.ErrStreamNotFound)

	st, err := e.js.Stream(ctx, "EVT_TEST")
	require.NoError(t, err)
	require.Eventually(t, func() bool {
		info, err := st.Info(ctx)
		return err == nil && info.State.Consumers == 0
	}, 10*time.Second, 50*time.Millisecond, "the scans' consumers are gone")
}

// Follow reads what is stored from its start and what comes after, in
// order, until it is stopped.
func TestFollowReadsStoredThenNewUntilStopped(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	for i := range 5 {
		e.publishOn(t, "a", newThing(t, fmt.Sprintf("t-%d", i), i))
	}
	got := make(chan int, 16)
	cc, err := bus.Follow(ctx, e.js, "EVT_TEST", jetstream.OrderedConsumerConfig{
		DeliverPolicy: jetstream.DeliverByStartSequencePolicy, OptStartSeq: 3}, func(m jetstream.Msg) {
		ev, err := bus.Decode(m.Headers(), m.Data())
		if err == nil {
			got <- dataOf(t, ev).N
		}
	})
	require.NoError(t, err)
	e.publishOn(t, "b", newThing(t, "t-5", 5))
	var seen []int
	for len(seen) < 4 {
		select {
		case n := <-got:
			seen = append(seen, n)
		case <-time.After(10 * time.Second):
			t.Fatalf("followed %v, want [2 3 4 5]", seen)
		}
	}
	assert.Equal(t, []int{2, 3, 4, 5}, seen)
	cc.Stop()
	select {
	case <-cc.Closed():
	case <-time.After(10 * time.Second):
		t.Fatal("not closed after Stop")
	}
	_, err = bus.Follow(ctx, e.js, "EVT_NOPE", jetstream.OrderedConsumerConfig{}, func(jetstream.Msg) {})
	assert.ErrorIs(t, err, jetstream.ErrStreamNotFound)
}
