package platformfx_test

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/pave-platform/pave/pkg/bus"
	"github.com/pave-platform/pave/pkg/config"
	"github.com/pave-platform/pave/pkg/platformfx"
)

func TestStreamConfigErrorsNameTheVariable(t *testing.T) {
	tests := []struct {
		give map[string]string
		want string
	}{
		{map[string]string{"PAVE_STREAM_REPLICAS": "2"}, "PAVE_STREAM_REPLICAS: must be 1, 3 or 5"},
		{map[string]string{"PAVE_STREAM_REPLICAS": "three"}, "PAVE_STREAM_REPLICAS"},
		{map[string]string{"PAVE_STREAM_MAX_BYTES": "10"}, "PAVE_STREAM_MAX_BYTES"},
		{map[string]string{"PAVE_STREAM_DUPLICATE_WINDOW": "5s"}, "PAVE_STREAM_DUPLICATE_WINDOW"},
		{map[string]string{"PAVE_EVENT_RETENTION": "0"}, "PAVE_EVENT_RETENTION: must be at least 1h"},
		{map[string]string{"PAVE_EVENT_RETENTION": "a month"}, "PAVE_EVENT_RETENTION"},
		{map[string]string{"PAVE_EVENT_RETENTION": "2h", "PAVE_STREAM_DUPLICATE_WINDOW": "3h"}, "PAVE_EVENT_RETENTION: must be at least PAVE_STREAM_DUPLICATE_WINDOW"},
	}
	for _, tt := range tests {
		var c platformfx.StreamConfig
		err := config.LoadFrom(&c, tt.give)
		require.Error(t, err, tt.give)
		assert.Contains(t, err.Error(), tt.want)
	}
	var c platformfx.StreamConfig
	require.NoError(t, config.LoadFrom(&c, nil))
	assert.Equal(t, 1, c.Replicas)
	assert.Equal(t, 30*24*time.Hour, c.EventRetention, "event streams keep 30 days by default")
}

func TestFillConfigErrorsNameTheVariable(t *testing.T) {
	tests := []struct {
		give map[string]string
		want string
	}{
		{map[string]string{"PAVE_STREAM_WARN_RATIO": "80%"}, "PAVE_STREAM_WARN_RATIO"},
		{map[string]string{"PAVE_STREAM_WARN_RATIO": "1"}, "PAVE_STREAM_WARN_RATIO: must be between 0 and 1"},
		{map[string]string{"PAVE_STREAM_REFUSE_RATIO": "0.7"}, "PAVE_STREAM_REFUSE_RATIO: must be above PAVE_STREAM_WARN_RATIO (0.8)"},
		{map[string]string{"PAVE_STREAM_REFUSE_RATIO": "1.2"}, "PAVE_STREAM_REFUSE_RATIO"},
		{map[string]string{"PAVE_STREAM_FILL_INTERVAL": "10ms"}, "PAVE_STREAM_FILL_INTERVAL: must be at least 1s"},
	}
	for _, tt := range tests {
		var c platformfx.FillConfig
		err := config.LoadFrom(&c, tt.give)
		require.Error(t, err, tt.give)
		assert.Contains(t, err.Error(), tt.want)
	}
	o, err := platformfx.LoadFillOptions()
	require.NoError(t, err)
	assert.Equal(t, bus.DefaultFillOptions(), o, "the defaults are the bus's")
}
