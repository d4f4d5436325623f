package app

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync/atomic"
	"testing"
	"time"

	"github.com/cloudevents/sdk-go/v2/event"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/pave-platform/pave/pkg/bus"
	"github.com/pave-platform/pave/pkg/events"
	"github.com/pave-platform/pave/pkg/schema"
	"github.com/pave-platform/pave/pkg/testkit"
	"github.com/pave-platform/pave/services/scheduler/internal/domain"
)

// gatedLog is the scheduler's log on a real JetStream stream whose
// appends, once held, wait at a gate the test opens: a slow disk that
// the test controls.
type gatedLog struct {
	js      jetstream.JetStream
	last    uint64
	hold    atomic.Bool
	entered chan []*nats.Msg // an append that waits at the gate
	gate    chan error       // what the waiting append does: nil appends, an error fails it
	closed  chan struct{}    // the test is over: appends fail
}

func (g *gatedLog) Replay(context.Context, uint64, func(uint64, event.Event) error) (uint64, int64, error) {
	return 0, 0, nil
}
func (g *gatedLog) Appender(uint64) Appender { return g }
func (g *gatedLog) Last() uint64             { return g.last }

func (g *gatedLog) Append(ctx context.Context, msgs []*nats.Msg) error {
	if g.hold.Load() {
		select {
		case g.entered <- msgs:
		case <-g.closed:
			return errTestOver
		}
		select {
		case err := <-g.gate:
			if err != nil {
				return err
			}
		case <-g.closed:
			return errTestOver
		}
	}
	for _, m := range msgs {
		ack, err := g.js.PublishMsg(ctx, m)
		if err != nil {
			return err
		}
		g.last = ack.Sequence
	}
	return nil
}

var errTestOver = errors.New("test over")

type neverSeen struct{}

func (neverSeen) LastSeen(string) (time.Time, bool) { return time.Time{}, false }

func startGatedLeader(t *testing.T) (*Leader, *gatedLog, <-chan error) {
	t.Helper()
	nc := testkit.NATS(t).Conn(t)
	reg, err := schema.Default()
	require.NoError(t, err)
	b, err := bus.New(nc, reg, schema.SubjectFor)
	require.NoError(t, err)
	ctx, cancel := context.WithCancel(context.Background())
	so := bus.DefaultStreamOptions()
	require.NoError(t, bus.EnsureStreams(ctx, b.JetStream(), append(bus.ServiceStreams("scheduler", so), bus.ServiceStreams("runner", so)...)...))
	g := &gatedLog{js: b.JetStream(), entered: make(chan []*nats.Msg), gate: make(chan error), closed: make(chan struct{})}
	cfg := SchedulerConfig{
		Pools: []domain.Pool{{Name: "p", Capacity: domain.Vector{"cpu": 1000}}},
		Teams: []domain.Team{{Name: "a", Weight: 1, Nominal: map[string]domain.Vector{"p": {"cpu": 1000}}}},
	}
	l, _, err := Rebuild(ctx, b, cfg, Options{Tick: time.Hour, RunnerTimeout: time.Hour, Log: g},
		"leader", 1, neverSeen{}, slog.New(slog.DiscardHandler))
	require.NoError(t, err)
	ran := make(chan error, 1)
	run := make(chan error, 1)
	go func() { err := l.Run(ctx, 0); run <- err; ran <- err }()
	t.Cleanup(func() {
		cancel()
		close(g.closed)
		<-run
	})
	_, err = l.Do(ctx, func(*tx) (any, error) { return nil, nil }) // the term has begun
	require.NoError(t, err)
	return l, g, ran
}

func submit(l *Leader, id string, decided chan<- struct{}) <-chan error {
	answered := make(chan error, 1)
	go func() {
		_, err := l.Do(context.Background(), func(t *tx) (any, error) {
			if decided != nil {
				close(decided)
			}
			return t.Submit(events.SubmitCommand{SubmittedBy: "dev", Workload: events.WorkloadSpec{
				ID: id, Team: "a", Pool: "p", Kind: events.WorkloadKindJob, Demand: map[string]int64{"cpu": 1},
				Job: &events.JobSpec{Command: "true"}}})
		})
		answered <- err
	}()
	return answered
}

func waitDecided(t *testing.T, decided <-chan struct{}) {
	t.Helper()
	require.Eventually(t, func() bool {
		select {
		case <-decided:
			return true
		default:
			return false
		}
	}, 10*time.Second, time.Millisecond, "the next batch waited for the append of the one before")
}

// answered says whether an answer came (and takes it).
func answered(ch <-chan error) bool {
	select {
	case <-ch:
		return true
	default:
		return false
	}
}

// The leader works out the next batch while the one before is still
// being appended (the log's fsyncs and the decisions overlap), and still
// answers an input only once its batch is in the log, after the batches
// before it.
func TestNextBatchIsDecidedWhileTheLastIsAppended(t *testing.T) {
	l, g, _ := startGatedLeader(t)
	g.hold.Store(true)
	first := submit(l, "w1", nil)
	held := <-g.entered // w1's batch waits at the gate

	decided := make(chan struct{})
	second := submit(l, "w2", decided)
	waitDecided(t, decided)
	assert.False(t, answered(first), "w1 answered before its batch was in the log")
	assert.False(t, answered(second), "w2 answered before its batch was in the log")

	g.gate <- nil
	require.NoError(t, <-first)
	assert.False(t, answered(second), "w2 answered before its batch was in the log")
	next := <-g.entered
	g.gate <- nil
	require.NoError(t, <-second)

	assert.Equal(t, []string{"w1"}, submittedIn(t, held))
	assert.Equal(t, []string{"w2"}, submittedIn(t, next))
	assert.Equal(t, []string{"w1", "w2"}, submittedIn(t, logged(t, g)), "the log holds the batches in their order")
}

// A batch decided while the one before was being appended is never
// appended when that append fails: its inputs get the error and the
// leader stops.
func TestAFailedAppendFailsTheBatchDecidedBehindIt(t *testing.T) {
	l, g, ran := startGatedLeader(t)
	before := g.Last()
	g.hold.Store(true)
	first := submit(l, "w1", nil)
	<-g.entered
	decided := make(chan struct{})
	second := submit(l, "w2", decided)
	waitDecided(t, decided)

	disk := errors.New("disk gone")
	g.gate <- disk
	assert.ErrorIs(t, <-first, disk)
	assert.ErrorIs(t, <-second, disk)
	assert.ErrorIs(t, <-ran, disk)
	assert.Equal(t, before, g.Last(), "the log holds nothing of either batch")
}

func submittedIn(t *testing.T, msgs []*nats.Msg) []string {
	t.Helper()
	var ids []string
	for _, m := range msgs {
		e, err := bus.Decode(m.Header, m.Data)
		require.NoError(t, err)
		if e.Type() == events.TypeWorkloadSubmitted {
			var d events.WorkloadSubmitted
			require.NoError(t, e.DataAs(&d))
			ids = append(ids, d.Workload.ID)
		}
	}
	return ids
}

// logged is what the log's stream holds.
func logged(t *testing.T, g *gatedLog) []*nats.Msg {
	t.Helper()
	s, err := g.js.Stream(context.Background(), "EVT_SCHEDULER")
	require.NoError(t, err)
	var msgs []*nats.Msg
	for seq := uint64(1); seq <= g.Last(); seq++ {
		m, err := s.GetMsg(context.Background(), seq)
		require.NoError(t, err)
		msgs = append(msgs, &nats.Msg{Header: m.Header, Data: m.Data})
	}
	return msgs
}

// A job admitted early in a large batch is dispatched once its admission
// is in the log, not after the batch's last events: its run command is in
// CMD_RUNNER while the rest of the batch still waits to be appended.
func TestAnAdmissionIsDispatchedOnceItIsLoggedNotAfterItsWholeBatch(t *testing.T) {
	l, g, _ := startGatedLeader(t)
	js := g.js
	const n = 2 * commitChunk // submitted, then admitted: 4 chunks, the admissions in the last two
	g.hold.Store(true)
	answer := make(chan error, 1)
	go func() {
		_, err := l.Do(context.Background(), func(t *tx) (any, error) {
			for i := range n {
				if _, err := t.Submit(events.SubmitCommand{SubmittedBy: "dev", Workload: events.WorkloadSpec{
					ID: fmt.Sprintf("w%d", i), Team: "a", Pool: "p", Kind: events.WorkloadKindJob,
					Demand: map[string]int64{"cpu": 1}, Job: &events.JobSpec{Command: "true"}}}); err != nil {
					return nil, err
				}
			}
			return nil, nil
		})
		answer <- err
	}()
	for range 2 { // the submissions
		<-g.entered
		g.gate <- nil
	}
	third := <-g.entered // the first admissions are in it
	g.gate <- nil
	last := <-g.entered // the rest wait at the gate
	require.Equal(t, commitChunk, len(third))
	require.Equal(t, commitChunk, len(last))
	runs, err := js.Stream(context.Background(), "CMD_RUNNER")
	require.NoError(t, err)
	require.Eventually(t, func() bool {
		info, err := runs.Info(context.Background())
		return err == nil && info.State.Msgs == commitChunk
	}, 10*time.Second, 5*time.Millisecond, "the jobs admitted in the third chunk were not dispatched before the fourth was appended")
	assert.False(t, answered(answer), "answered before its whole batch was in the log")
	g.gate <- nil
	require.NoError(t, <-answer)
	require.Eventually(t, func() bool {
		info, err := runs.Info(context.Background())
		return err == nil && info.State.Msgs == n
	}, 10*time.Second, 5*time.Millisecond)
}
