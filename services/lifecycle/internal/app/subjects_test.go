package app_test

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/pave-platform/pave/pkg/events"
)

// Transition events name their environment as CloudEvent subject:
// consumers keep order per subject, so one environment's transitions stay
// in order while different environments' are handled side by side (with
// none, every transition shared one ordering key and consumers such as
// cost's took them one at a time).
func TestTransitionEventsNameTheirEnvironment(t *testing.T) {
	h := newHarness(t)
	env := h.Create(t)

	var seen int
	for _, e := range h.Commands(t, "EVT_LIFECYCLE") {
		if e.Type() != events.TypeEnvironmentTransitioned {
			continue
		}
		seen++
		assert.Equal(t, env.ID, e.Subject(), "subject of %s", e.ID())
	}
	require.NotZero(t, seen)
}
