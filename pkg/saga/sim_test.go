package saga_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"slices"
	"time"

	"github.com/pave-platform/pave/pkg/events"
	"github.com/pave-platform/pave/pkg/saga"
)

// sim runs one saga against a simulated world: a worker whose commands
// create and delete resources, a network that delays, reorders and
// duplicates messages, timers, and an engine that crashes between its
// compare-and-set and its publish. Only the persisted instance (JSON)
// survives a crash; everything else is recomputed from it.
type sim struct {
	rng       *rand.Rand
	def       saga.Definition
	resources map[string]bool // steps that create a resource
	chaos     chaos
	stored    []byte // the instance as the KV bucket holds it
	now       time.Time
	network   []message
	published map[string][]byte // JetStream's dedupe window: id → data
	world     map[string]bool   // resources that exist, by step
	doSent    map[string]bool   // steps whose forward command was published
	undoSent  int
	alerts    []events.SagaAlerted
	deadlines []time.Time // every deadline seen, for stale timer fires
	aborted   bool
	trace     []string
	// validate, when set, checks progress and alert data against the schemas.
	validate func(eventType string, data []byte) error
}

// chaos is how hostile one scenario is.
type chaos struct {
	dup, doFail, doPermanent, partial, undoFail, undoPermanent, crash float64
	// impatience is how often a timer fires while messages are in flight.
	impatience float64
}

// message is a command on its way to the worker, or an answer on its way back.
type message struct {
	cmd    *saga.Effect
	answer saga.Input
}

func newSim(seed uint64) *sim {
	rng := rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))
	s := &sim{
		rng: rng, now: t0, published: map[string][]byte{}, world: map[string]bool{}, doSent: map[string]bool{},
		chaos: chaos{
			dup: rng.Float64() * 0.3, doFail: rng.Float64() * 0.4, doPermanent: rng.Float64() * 0.15,
			partial: rng.Float64(), undoFail: rng.Float64() * 0.25, undoPermanent: rng.Float64() * 0.03,
			crash: rng.Float64() * 0.4, impatience: rng.Float64() * 0.15,
		},
	}
	s.def, s.resources = randomDefinition(rng)
	s.stored = mustJSON(saga.Instance{ID: "sim-1"})
	return s
}

// randomDefinition has 1–6 steps; a step with an Undo creates a resource,
// the others (nil Undo, or an Undo with nothing to do) do not.
func randomDefinition(rng *rand.Rand) (saga.Definition, map[string]bool) {
	def, resources := saga.Definition{Name: "sim"}, map[string]bool{}
	for i := range 1 + rng.IntN(6) {
		st := saga.Step{
			Name: fmt.Sprintf("s%d", i), Do: doCmd, Undo: undoCmd,
			Timeout:           time.Duration(5+rng.IntN(25)) * time.Second,
			Retry:             saga.RetryPolicy{MaxAttempts: 1 + rng.IntN(3), Backoff: time.Duration(rng.IntN(3)) * time.Second},
			CompensationRetry: saga.RetryPolicy{MaxAttempts: 2 + rng.IntN(4), Backoff: time.Duration(rng.IntN(2)) * time.Second},
		}
		switch rng.IntN(10) {
		case 0:
			st.Undo = nil
		case 1:
			st.Undo = nothingToUndo
		default:
			resources[st.Name] = true
		}
		def.Steps = append(def.Steps, st)
	}
	return def, resources
}

func (s *sim) load() saga.Instance {
	var inst saga.Instance
	if err := json.Unmarshal(s.stored, &inst); err != nil {
		panic(err)
	}
	return inst
}

func (s *sim) logf(format string, args ...any) {
	s.trace = append(s.trace, fmt.Sprintf("%s ", s.now.Sub(t0))+fmt.Sprintf(format, args...))
}

// deliver is the engine's Deliver: transition, then compare-and-set.
// It returns whether the input changed the instance.
func (s *sim) deliver(in saga.Input) (bool, error) {
	inst := s.load()
	next, effects, err := saga.Transition(s.def, inst, in, s.now)
	if err != nil {
		return false, fmt.Errorf("transition %s: %w", describe(in), err)
	}
	if next.Seq == inst.Seq {
		s.logf("ignored %s", describe(in))
		return false, nil
	}
	if len(effects) == 0 || effects[len(effects)-1].Kind != saga.EffectProgress {
		return false, fmt.Errorf("transition %s did not end with a progress effect", describe(in))
	}
	if next.Status == saga.StatusCompleted && s.undoSent > 0 {
		return false, fmt.Errorf("%s completed the saga after an undo was published", describe(in))
	}
	if !next.Deadline.IsZero() {
		s.deadlines = append(s.deadlines, next.Deadline)
	}
	s.stored = mustJSON(next)
	s.logf("%s → %s [%s] effects %d", describe(in), next.Status, steps(next), len(effects))
	return true, nil
}

// flush publishes a prefix of the outbox; unless the engine crashes, it
// then removes what it published, by id, with another compare-and-set.
func (s *sim) flush() error {
	inst := s.load()
	n := len(inst.Outbox)
	if s.rng.Float64() < s.chaos.crash {
		n = s.rng.IntN(n + 1)
	}
	done := map[string]bool{}
	for _, e := range inst.Outbox[:n] {
		if err := s.publish(e); err != nil {
			return err
		}
		done[e.ID] = true
	}
	if s.rng.Float64() < s.chaos.crash {
		s.logf("crash after publishing %d of %d", n, len(inst.Outbox))
		return nil
	}
	inst.Outbox = slices.DeleteFunc(inst.Outbox, func(e saga.Effect) bool { return done[e.ID] })
	s.stored = mustJSON(inst)
	return nil
}

// publish is a JetStream publish: an id seen before is dropped, and it
// must carry the same data as the first time.
func (s *sim) publish(e saga.Effect) error {
	if old, seen := s.published[e.ID]; seen {
		if !bytes.Equal(old, e.Data) {
			return fmt.Errorf("id %s published with different data:\n%s\n%s", e.ID, old, e.Data)
		}
		return nil
	}
	s.published[e.ID] = e.Data
	if s.validate != nil && e.Kind != saga.EffectCommand {
		if err := s.validate(e.Type, e.Data); err != nil {
			return fmt.Errorf("publish %s: %w", e.ID, err)
		}
	}
	switch e.Kind {
	case saga.EffectCommand:
		if e.Ref.Compensation {
			s.undoSent++
		} else {
			s.doSent[e.Ref.Step] = true
		}
		s.network = append(s.network, message{cmd: &e})
	case saga.EffectAlert:
		var a events.SagaAlerted
		if err := json.Unmarshal(e.Data, &a); err != nil {
			return err
		}
		s.alerts = append(s.alerts, a)
	}
	return nil
}

// work is the worker handling one command and answering it.
func (s *sim) work(e saga.Effect) {
	var d cmdData
	if err := json.Unmarshal(e.Data, &d); err != nil {
		panic(err)
	}
	ref, r := d.Saga, s.rng.Float64()
	var answer saga.Input = saga.StepSucceeded{Ref: ref, Output: json.RawMessage(`{"ok":true}`)}
	switch {
	case ref.Compensation && r < s.chaos.undoPermanent:
		answer = saga.StepFailed{Ref: ref, Reason: "undo refused"}
	case ref.Compensation && r < s.chaos.undoPermanent+s.chaos.undoFail:
		answer = saga.StepFailed{Ref: ref, Reason: "undo busy", Retryable: true}
	case ref.Compensation:
		delete(s.world, ref.Step)
	case r < s.chaos.doPermanent:
		// A permanent failure may leave part of the work behind.
		s.world[ref.Step] = s.world[ref.Step] || (s.resources[ref.Step] && s.rng.Float64() < s.chaos.partial)
		answer = saga.StepFailed{Ref: ref, Reason: "quota exceeded"}
	case r < s.chaos.doPermanent+s.chaos.doFail:
		answer = saga.StepFailed{Ref: ref, Reason: "busy", Retryable: true}
	default:
		s.world[ref.Step] = s.world[ref.Step] || s.resources[ref.Step]
	}
	s.logf("worker %s → %s", e.ID, describe(answer))
	s.network = append(s.network, message{answer: answer})
}
