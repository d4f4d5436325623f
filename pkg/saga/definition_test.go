package saga_test

import (
	"context"
	"fmt"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/pave-platform/pave/pkg/saga"
)

func TestDefinitionValidate(t *testing.T) {
	tests := []struct {
		name string
		give saga.Definition
		want string
	}{
		{"valid", def3(), "<nil>"},
		{"no name", saga.Definition{}, "invalid saga definition: definition without a name"},
		{"step name with a slash", withStep(def3(), 1, func(s *saga.Step) { s.Name = "b/c" }),
			`invalid saga definition: test: step 1: name "b/c" must match [A-Za-z0-9_.-]+`},
		{"step twice", withStep(def3(), 1, func(s *saga.Step) { s.Name = "a" }),
			`invalid saga definition: test: step "a" appears twice`},
		{"no Do", withStep(def3(), 2, func(s *saga.Step) { s.Do = nil }),
			`invalid saga definition: test: step "c" has no Do`},
		{"no timeout", withStep(def3(), 0, func(s *saga.Step) { s.Timeout = 0 }),
			`invalid saga definition: test: step "a" has no Timeout`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := fmt.Sprint(tt.give.Validate())

			assert.Equal(t, tt.want, got)
		})
	}
}

func TestTransitionTreatsAPanickingDoAsABuildError(t *testing.T) {
	def := withStep(def3(), 1, func(s *saga.Step) {
		s.Do = func(saga.Instance, saga.Ref) (saga.Command, error) { panic("nil template") }
	})

	r := drive(t, def, start(), ok("a", 1))

	b, _ := r.inst.Step("b")
	assert.Equal(t, "build command: panic: nil template", b.Error)
	assert.Equal(t, saga.StatusCompensating, r.inst.Status)
	assert.Equal(t, ids("s1/", "a/1", "a/undo/1"), r.commands)
}

func TestNewEngineRefusesBadDefinitions(t *testing.T) {
	env := newEnv(t)
	ctx := context.Background()

	_, err := saga.NewEngine(ctx, env.js, env.bus, bucket, []saga.Definition{def3(), def3()})
	require.ErrorIs(t, err, saga.ErrInvalidDefinition)
	_, err = saga.NewEngine(ctx, env.js, env.bus, bucket, []saga.Definition{{Name: ""}})
	require.ErrorIs(t, err, saga.ErrInvalidDefinition)
	_, err = saga.NewEngine(ctx, env.js, env.bus, "bad bucket", []saga.Definition{def3()})
	assert.Error(t, err)
}
