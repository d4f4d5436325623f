package saga_test

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/pave-platform/pave/pkg/saga"
)

// Command types of the test sagas; the engine tests register schemas for them.
const (
	typeDo   = "dev.pave.cmd.sagatest.do.v1"
	typeUndo = "dev.pave.cmd.sagatest.undo.v1"
)

var t0 = time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC)

// cmdData is the data of the test commands.
type cmdData struct {
	Saga     saga.Ref `json:"saga"`
	Resource string   `json:"resource"`
}

func doCmd(inst saga.Instance, ref saga.Ref) (saga.Command, error) {
	return saga.Command{Type: typeDo, Data: mustJSON(cmdData{Saga: ref, Resource: inst.ID + "/" + ref.Step})}, nil
}

func undoCmd(inst saga.Instance, ref saga.Ref) (*saga.Command, error) {
	return &saga.Command{Type: typeUndo, Data: mustJSON(cmdData{Saga: ref, Resource: inst.ID + "/" + ref.Step})}, nil
}

func mustJSON(v any) json.RawMessage {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err)
	}
	return b
}

// testStep: 10s timeout, two forward attempts 1s apart, two undo attempts.
func testStep(name string) saga.Step {
	return saga.Step{
		Name: name, Do: doCmd, Undo: undoCmd, Timeout: 10 * time.Second,
		Retry:             saga.RetryPolicy{MaxAttempts: 2, Backoff: time.Second},
		CompensationRetry: saga.RetryPolicy{MaxAttempts: 2},
	}
}

func def3() saga.Definition {
	return saga.Definition{Name: "test", Steps: []saga.Step{testStep("a"), testStep("b"), testStep("c")}}
}

// give builds an input from the instance it is delivered to.
type give func(saga.Instance) saga.Input

func start() give {
	return func(saga.Instance) saga.Input { return saga.Start{Data: json.RawMessage(`{"n":1}`)} }
}

func ok(step string, attempt int) give {
	return func(i saga.Instance) saga.Input {
		return saga.StepSucceeded{Ref: saga.Ref{ID: i.ID, Step: step, Attempt: attempt}, Output: json.RawMessage(`{"out":"` + step + `"}`)}
	}
}

func fail(step string, attempt int, retryable bool) give {
	return func(i saga.Instance) saga.Input {
		return saga.StepFailed{Ref: saga.Ref{ID: i.ID, Step: step, Attempt: attempt}, Reason: step + " broke", Retryable: retryable}
	}
}

func undone(step string, attempt int) give {
	return func(i saga.Instance) saga.Input {
		return saga.StepSucceeded{Ref: saga.Ref{ID: i.ID, Step: step, Attempt: attempt, Compensation: true}}
	}
}

func undoFail(step string, attempt int, retryable bool) give {
	return func(i saga.Instance) saga.Input {
		return saga.StepFailed{Ref: saga.Ref{ID: i.ID, Step: step, Attempt: attempt, Compensation: true},
			Reason: step + " stuck", Retryable: retryable}
	}
}

// due fires the instance's current deadline.
func due() give {
	return func(i saga.Instance) saga.Input { return saga.Timeout{Deadline: i.Deadline} }
}

func resume() give { return func(saga.Instance) saga.Input { return saga.Resume{} } }

func abort() give { return func(saga.Instance) saga.Input { return saga.Abort{Reason: "user asked"} } }

// run is what a sequence of inputs did to one instance.
type run struct {
	inst     saga.Instance
	commands []string // ids of the commands emitted, in order
	alerts   []string // alert:step
	ignored  []int    // indexes of inputs that changed nothing
	progress int
}

// drive applies the inputs to a fresh instance "s1". Time moves one second
// per input, and to the deadline for a Timeout.
func drive(t *testing.T, def saga.Definition, gives ...give) run {
	t.Helper()
	r := run{inst: saga.Instance{ID: "s1"}}
	now := t0
	for n, g := range gives {
		in := g(r.inst)
		now = now.Add(time.Second)
		if tm, isTimeout := in.(saga.Timeout); isTimeout && tm.Deadline.After(now) {
			now = tm.Deadline
		}
		next, effects, err := saga.Transition(def, r.inst, in, now)
		require.NoError(t, err, "input %d (%T)", n, in)
		if len(effects) == 0 {
			r.ignored = append(r.ignored, n)
		}
		r.record(effects)
		r.inst = next
	}
	return r
}

func (r *run) record(effects []saga.Effect) {
	for _, e := range effects {
		switch e.Kind {
		case saga.EffectCommand:
			r.commands = append(r.commands, e.ID)
		case saga.EffectAlert:
			var a struct{ Alert, Step string }
			if err := json.Unmarshal(e.Data, &a); err != nil {
				panic(err)
			}
			r.alerts = append(r.alerts, a.Alert+":"+a.Step)
		case saga.EffectProgress:
			r.progress++
		}
	}
}

// steps renders step statuses compactly: "a:succeeded b:skipped".
func steps(i saga.Instance) string {
	parts := make([]string, len(i.Steps))
	for n, s := range i.Steps {
		parts[n] = s.Name + ":" + string(s.Status)
	}
	return strings.Join(parts, " ")
}

func ids(prefix string, names ...string) []string {
	out := make([]string, len(names))
	for i, n := range names {
		out[i] = prefix + n
	}
	return out
}

var errBuild = errors.New("template missing")

func failingDo(saga.Instance, saga.Ref) (saga.Command, error) { return saga.Command{}, errBuild }

func failingUndo(saga.Instance, saga.Ref) (*saga.Command, error) { return nil, errBuild }

func nothingToUndo(saga.Instance, saga.Ref) (*saga.Command, error) { return nil, nil }

func withStep(def saga.Definition, i int, change func(*saga.Step)) saga.Definition {
	def.Steps = append([]saga.Step(nil), def.Steps...)
	change(&def.Steps[i])
	return def
}

func describe(in saga.Input) string { return fmt.Sprintf("%T%+v", in, in) }
