package access

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/pave-platform/pave/pkg/bus"
	"github.com/pave-platform/pave/services/access/internal/jit"
)

// Event streams that forget a grant while it counts are refused at start,
// naming the variable: a gateway replays the grant events to know it.
func TestEventRetentionShorterThanTheLongestGrantIsRefused(t *testing.T) {
	cfg := Config{JIT: jit.Config{MaxGrant: 8 * time.Hour}}
	so := bus.DefaultStreamOptions()
	so.EventRetention = time.Hour
	err := checkRetention(cfg, so)
	require.Error(t, err)
	assert.Contains(t, err.Error(), "PAVE_EVENT_RETENTION")
	for _, keep := range []time.Duration{0, 8 * time.Hour, bus.DefaultEventRetention} {
		so.EventRetention = keep
		assert.NoError(t, checkRetention(cfg, so), "retention %s keeps every live grant's events", keep)
	}
}
