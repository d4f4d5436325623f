package saga_test

import (
	"context"
	"encoding/json"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/pave-platform/pave/pkg/bus"
	"github.com/pave-platform/pave/pkg/saga"
)

// Two engines on separate connections deliver to one instance at once:
// compare-and-set lets exactly one of each duplicate apply, and every
// transition publishes its commands and progress once.
func TestEnginesDeliveringConcurrentlyAgree(t *testing.T) {
	env := newEnv(t)
	ctx := context.Background()
	other, _ := newBus(t, env.srv.Conn(t))
	engines := make([]*saga.Engine, 2)
	for i, b := range []*bus.Bus{env.bus, other} {
		eng, err := saga.NewEngine(ctx, b.JetStream(), b, bucket, []saga.Definition{def3()})
		require.NoError(t, err)
		engines[i] = eng
	}
	require.NoError(t, engines[0].Start(ctx, "test", "env-1", nil))

	deliverAll(t, engines, 16, func(int) saga.Input {
		return saga.StepSucceeded{Ref: saga.Ref{ID: "env-1", Step: "a", Attempt: 1}}
	})
	inst, err := engines[1].Get(ctx, "env-1")
	require.NoError(t, err)
	assert.Equal(t, 2, inst.Seq, "sixteen copies of one answer make one transition")
	assert.Equal(t, []string{"env-1/a/1", "env-1/b/1"}, env.streamIDs(t, "CMD_SAGATEST"))

	deliverAll(t, engines, 16, func(i int) saga.Input {
		if i%2 == 0 {
			return saga.Abort{Reason: "user asked"}
		}
		return saga.StepSucceeded{Ref: saga.Ref{ID: "env-1", Step: "b", Attempt: 1}}
	})
	inst, err = engines[0].Get(ctx, "env-1")
	require.NoError(t, err)
	assert.Equal(t, saga.StatusCompensating, inst.Status)
	// A running saga keeps what was published in its outbox until its
	// next write (one write less per transition): every entry left is out.
	published := append(env.streamIDs(t, "EVT_LIFECYCLE"), env.streamIDs(t, "CMD_SAGATEST")...)
	for _, eff := range inst.Outbox {
		assert.Contains(t, published, eff.ID, "an outbox entry of a settled delivery was not published")
	}
	assert.ElementsMatch(t, progressIDs("env-1", inst.Seq), env.streamIDs(t, "EVT_LIFECYCLE"),
		"one progress event per transition, none twice")
	commands := env.streamIDs(t, "CMD_SAGATEST")
	assert.Len(t, commands, len(unique(commands)), "a command was published twice")
}

func deliverAll(t *testing.T, engines []*saga.Engine, n int, input func(int) saga.Input) {
	t.Helper()
	errs := make(chan error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() { errs <- engines[i%len(engines)].Deliver(context.Background(), "env-1", input(i)) })
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		require.NoError(t, err)
	}
}

func unique(ss []string) map[string]bool {
	out := map[string]bool{}
	for _, s := range ss {
		out[s] = true
	}
	return out
}

// A command whose data fails its schema is never published: the bus
// refuses it for good, the step fails, and the saga compensates.
func TestEngineFailsAStepWhoseCommandTheBusRefuses(t *testing.T) {
	env := newEnv(t)
	def := withStep(def3(), 1, func(s *saga.Step) {
		s.Do = func(inst saga.Instance, ref saga.Ref) (saga.Command, error) {
			data, err := json.Marshal(map[string]any{"saga": ref, "resource": "x", "unexpected": true})
			return saga.Command{Type: typeDo, Data: data}, err
		}
	})
	eng := env.engine(t, env.bus, def)
	env.startWorker(t, eng)

	require.NoError(t, eng.Start(context.Background(), "test", "env-1", nil))

	inst := waitFor(t, eng, "env-1", saga.StatusCompensated)
	assert.Contains(t, inst.Reason, "step b: command refused")
	handled, resources := env.worker.state()
	assert.Equal(t, ids("env-1/", "a/1", "b/undo/1", "a/undo/1"), handled)
	assert.Empty(t, resources)
}
