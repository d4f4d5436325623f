package saga_test

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/pave-platform/pave/pkg/saga"
)

// shortTimeouts makes every step of def time out after d.
func shortTimeouts(def saga.Definition, d time.Duration) saga.Definition {
	for i := range def.Steps {
		def = withStep(def, i, func(s *saga.Step) { s.Timeout = d })
	}
	return def
}

func TestEngineRunsASagaToCompletion(t *testing.T) {
	env := newEnv(t)
	eng := env.engine(t, env.bus, def3())
	env.startWorker(t, eng)

	require.NoError(t, eng.Start(context.Background(), "test", "env-1", map[string]string{"team": "payments"}))

	inst := waitFor(t, eng, "env-1", saga.StatusCompleted)
	handled, resources := env.worker.state()
	assert.Equal(t, ids("env-1/", "a/1", "b/1", "c/1"), handled)
	assert.Equal(t, ids("env-1/", "a", "b", "c"), resources)
	assert.JSONEq(t, `{"resource":"env-1/b"}`, string(inst.Output("b")))
	assert.JSONEq(t, `{"team":"payments"}`, string(inst.Data))
	assert.Empty(t, inst.Outbox)
	assert.Equal(t, progressIDs("env-1", inst.Seq), env.streamIDs(t, "EVT_LIFECYCLE"))
}

func TestEngineStartIsIdempotent(t *testing.T) {
	env := newEnv(t)
	eng := env.engine(t, env.bus, def3(), saga.Definition{Name: "other"})
	ctx := context.Background()

	require.NoError(t, eng.Start(ctx, "test", "env-1", nil))
	require.NoError(t, eng.Start(ctx, "test", "env-1", nil))

	inst, err := eng.Get(ctx, "env-1")
	require.NoError(t, err)
	assert.Equal(t, 1, inst.Seq)
	assert.Equal(t, []string{"env-1/a/1"}, env.streamIDs(t, "CMD_SAGATEST"))
	assert.ErrorIs(t, eng.Start(ctx, "other", "env-1", nil), saga.ErrIDInUse)
	assert.ErrorIs(t, eng.Start(ctx, "nope", "env-2", nil), saga.ErrUnknownDefinition)
	assert.ErrorIs(t, eng.Deliver(ctx, "env-3", saga.Abort{}), saga.ErrNotFound)
}

func TestEngineCompensatesInReverseWhenTheLastStepFails(t *testing.T) {
	env := newEnv(t)
	env.worker.decide = func(ref saga.Ref) outcome {
		if ref.Step == "c" && !ref.Compensation {
			return failPermanent
		}
		return succeed
	}
	eng := env.engine(t, env.bus, def3())
	env.startWorker(t, eng)

	require.NoError(t, eng.Start(context.Background(), "test", "env-1", nil))

	inst := waitFor(t, eng, "env-1", saga.StatusCompensated)
	handled, resources := env.worker.state()
	assert.Equal(t, ids("env-1/", "a/1", "b/1", "c/1", "c/undo/1", "b/undo/1", "a/undo/1"), handled)
	assert.Empty(t, resources)
	assert.Equal(t, "a:compensated b:compensated c:compensated", steps(inst))
	assert.Equal(t, "step c: worker says no", inst.Reason)
}

// Two replicas run timers on one bucket: both fire b's deadlines, and
// the second Timeout finds the deadline gone, so b is tried twice, not more.
func TestEngineTimesOutAStepAndRetriesIt(t *testing.T) {
	env := newEnv(t)
	env.worker.decide = func(ref saga.Ref) outcome {
		if ref.Step == "b" && ref.Attempt == 1 {
			return silent
		}
		return succeed
	}
	def := shortTimeouts(def3(), 300*time.Millisecond)
	eng := env.engine(t, env.bus, def)
	replicaBus, _ := newBus(t, env.srv.Conn(t))
	env.engine(t, replicaBus, def)
	env.startWorker(t, eng)

	require.NoError(t, eng.Start(context.Background(), "test", "env-1", nil))

	inst := waitFor(t, eng, "env-1", saga.StatusCompleted)
	handled, _ := env.worker.state()
	assert.Equal(t, ids("env-1/", "a/1", "b/1", "b/2", "c/1"), handled)
	b, _ := inst.Step("b")
	assert.Equal(t, "attempt 1 timed out after 300ms", b.Error)
}

func TestEngineResumesAfterServerRestart(t *testing.T) {
	env := newEnv(t)
	stepB := make(chan struct{}, 1)
	env.worker.decide = func(ref saga.Ref) outcome {
		if ref.Step == "b" && ref.Attempt == 1 {
			stepB <- struct{}{}
			return silent
		}
		return succeed
	}
	eng := env.engine(t, env.bus, shortTimeouts(def3(), 500*time.Millisecond))
	env.startWorker(t, eng)
	require.NoError(t, eng.Start(context.Background(), "test", "env-1", nil))
	<-stepB

	env.srv.Restart(t) // b's deadline passes while the server is down or just back

	waitFor(t, eng, "env-1", saga.StatusCompleted)
	_, resources := env.worker.state()
	assert.Equal(t, ids("env-1/", "a", "b", "c"), resources)
}

// An engine crashes after storing an instance and before publishing its
// outbox (its bus connection is gone); a new engine on the bucket
// publishes the outbox and the saga ends.
func TestEngineResumesAnUnpublishedOutboxAfterACrash(t *testing.T) {
	env := newEnv(t)
	nc := env.srv.Conn(t)
	deadBus, _ := newBus(t, nc)
	crashed, err := saga.NewEngine(context.Background(), env.js, deadBus, bucket, []saga.Definition{def3()})
	require.NoError(t, err)
	nc.Close()

	require.Error(t, crashed.Start(context.Background(), "test", "env-1", nil))
	inst, err := crashed.Get(context.Background(), "env-1")
	require.NoError(t, err)
	require.Len(t, inst.Outbox, 2, "the command and the progress event wait in the outbox")

	eng := env.engine(t, env.bus, def3())
	env.startWorker(t, eng)

	waitFor(t, eng, "env-1", saga.StatusCompleted)
	handled, _ := env.worker.state()
	assert.Equal(t, ids("env-1/", "a/1", "b/1", "c/1"), handled)
}

// No engine runs while a step's deadline passes; the next engine fires it.
func TestEngineFiresDeadlinesThatPassedWhileNoEngineRan(t *testing.T) {
	env := newEnv(t)
	env.worker.decide = func(ref saga.Ref) outcome {
		if ref.Step == "a" && ref.Attempt == 1 {
			return silent
		}
		return succeed
	}
	def := shortTimeouts(def3(), 300*time.Millisecond)
	first := env.engine(t, env.bus, def)
	env.startWorker(t, first)
	require.NoError(t, first.Start(context.Background(), "test", "env-1", nil))
	require.Eventually(t, func() bool { h, _ := env.worker.state(); return len(h) == 1 }, 5*time.Second, 10*time.Millisecond)
	stopEngine(t, first)
	inst, err := first.Get(context.Background(), "env-1")
	require.NoError(t, err)
	require.Eventually(t, func() bool { return time.Now().After(inst.Deadline) }, 5*time.Second, 10*time.Millisecond,
		"a's deadline passes with no engine running")

	second := env.engine(t, env.bus, def)
	env.worker.engine.Store(second)

	waitFor(t, second, "env-1", saga.StatusCompleted)
	handled, _ := env.worker.state()
	assert.Equal(t, ids("env-1/", "a/1", "a/2", "b/1", "c/1"), handled)
}

// TestEngineWritesOncePerTransition pins the cost of a saga in JetStream
// writes: one compare-and-set per transition, whose write also drops what
// the previous transition published, and one at the end that empties the
// outbox. (Before: a second write per transition to empty it.)
func TestEngineWritesOncePerTransition(t *testing.T) {
	env := newEnv(t)
	// A grace longer than the test: the background part never settles.
	eng, err := saga.NewEngine(context.Background(), env.js, env.bus, bucket, []saga.Definition{def3()},
		saga.WithOutboxGrace(time.Hour), saga.WithRetryDelay(50*time.Millisecond))
	require.NoError(t, err)
	require.NoError(t, eng.Launch())
	t.Cleanup(func() { stopEngine(t, eng) })
	env.startWorker(t, eng)

	require.NoError(t, eng.Start(context.Background(), "test", "env-1", nil))
	inst := waitFor(t, eng, "env-1", saga.StatusCompleted)

	st, err := env.js.Stream(context.Background(), "KV_"+bucket)
	require.NoError(t, err)
	info, err := st.Info(context.Background())
	require.NoError(t, err)
	assert.Equal(t, 4, inst.Seq, "start and three answers")
	assert.Equal(t, uint64(inst.Seq+1), info.State.LastSeq, "writes to the saga bucket")
	assert.Empty(t, inst.Outbox)
	assert.Equal(t, progressIDs("env-1", inst.Seq), env.streamIDs(t, "EVT_LIFECYCLE"))
}

// A saga that waits longer than the outbox grace has what it published
// removed from its stored outbox by the background part (one write), so
// a restart does not publish it again.
func TestEngineSettlesThePublishedOutboxOfAWaitingSaga(t *testing.T) {
	env := newEnv(t)
	eng := env.engine(t, env.bus, def3()) // grace 200ms, no worker: step a waits
	require.NoError(t, eng.Start(context.Background(), "test", "env-1", nil))
	require.Eventually(t, func() bool {
		inst, err := eng.Get(context.Background(), "env-1")
		return err == nil && len(inst.Outbox) == 0
	}, 20*time.Second, 20*time.Millisecond, "the published outbox of env-1 was never removed")
	assert.Equal(t, []string{"env-1/a/1"}, env.streamIDs(t, "CMD_SAGATEST"), "published once")
}
