package app_test

import (
	"testing"

	"github.com/pave-platform/pave/pkg/events"
	"github.com/pave-platform/pave/services/lifecycle/internal/app"
	"github.com/pave-platform/pave/services/lifecycle/internal/apptest"
)

// harness is apptest's, with the helpers only app's tests use.
type harness struct{ *apptest.Harness }

var (
	alice = apptest.Alice
	at    = apptest.At
)

func newHarness(t *testing.T) *harness { return &harness{apptest.New(t)} }

func newHarnessWith(t *testing.T, p app.StepPolicy) *harness {
	return &harness{apptest.NewWith(t, p)}
}

func ref(sagaID, step string, attempt int, compensation bool) *events.Saga {
	return apptest.Ref(sagaID, step, attempt, compensation)
}
