package logfx_test

import (
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/otel/trace"
	"go.uber.org/fx"
	"go.uber.org/fx/fxtest"

	"github.com/pave-platform/pave/pkg/config"
	"github.com/pave-platform/pave/pkg/logfx"
)

func TestConfigDefaults(t *testing.T) {
	var cfg logfx.Config
	require.NoError(t, config.LoadFrom(&cfg, nil))
	assert.Equal(t, logfx.Config{Level: "info", Format: "json"}, cfg)
}

func TestConfigValidateNamesVariable(t *testing.T) {
	tests := []struct {
		give map[string]string
		want string
	}{
		{give: map[string]string{"PAVE_LOG_LEVEL": "loud"}, want: `config: PAVE_LOG_LEVEL: "loud" is not a level`},
		{give: map[string]string{"PAVE_LOG_FORMAT": "xml"}, want: `config: PAVE_LOG_FORMAT: "xml" is not a format`},
	}
	for _, tt := range tests {
		var cfg logfx.Config
		assert.ErrorContains(t, config.LoadFrom(&cfg, tt.give), tt.want)
	}
}

func TestNewJSONFiltersByLevel(t *testing.T) {
	var buf bytes.Buffer
	logger, err := logfx.New(logfx.Config{Level: "warn", Format: "json"}, &buf)
	require.NoError(t, err)

	logger.Info("hidden")
	logger.Warn("shown", "environment", "env-1")

	lines := strings.Split(strings.TrimSpace(buf.String()), "\n")
	require.Len(t, lines, 1)
	var rec map[string]any
	require.NoError(t, json.Unmarshal([]byte(lines[0]), &rec))
	assert.Equal(t, "shown", rec["msg"])
	assert.Equal(t, "env-1", rec["environment"])
}

func TestNewText(t *testing.T) {
	var buf bytes.Buffer
	logger, err := logfx.New(logfx.Config{Level: "DEBUG", Format: "text"}, &buf)
	require.NoError(t, err)

	logger.Debug("hello", "k", "v")

	assert.Contains(t, buf.String(), "level=DEBUG msg=hello k=v")
}

func TestNewRejectsBadConfig(t *testing.T) {
	_, err := logfx.New(logfx.Config{Level: "info", Format: "xml"}, &bytes.Buffer{})
	assert.Error(t, err)
}

func TestTraceIDsFromContext(t *testing.T) {
	var buf bytes.Buffer
	logger, err := logfx.New(logfx.Config{Level: "info", Format: "json"}, &buf)
	require.NoError(t, err)
	sc := trace.NewSpanContext(trace.SpanContextConfig{
		TraceID:    trace.TraceID{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16},
		SpanID:     trace.SpanID{1, 2, 3, 4, 5, 6, 7, 8},
		TraceFlags: trace.FlagsSampled,
	})
	ctx := trace.ContextWithSpanContext(context.Background(), sc)

	logger.With("subject", "pave.cmd.x").InfoContext(ctx, "traced")
	logger.InfoContext(context.Background(), "untraced")

	dec := json.NewDecoder(&buf)
	var traced, untraced map[string]any
	require.NoError(t, dec.Decode(&traced))
	require.NoError(t, dec.Decode(&untraced))
	assert.Equal(t, sc.TraceID().String(), traced["trace_id"])
	assert.Equal(t, sc.SpanID().String(), traced["span_id"])
	assert.Equal(t, "pave.cmd.x", traced["subject"])
	assert.NotContains(t, untraced, "trace_id")
}

func TestModuleProvidesLogger(t *testing.T) {
	t.Setenv("PAVE_LOG_LEVEL", "error")
	var logger *slog.Logger
	app := fxtest.New(t, logfx.Module, logfx.WithFxLogger(), fx.Populate(&logger))
	app.RequireStart().RequireStop()

	require.NotNil(t, logger)
	assert.False(t, logger.Enabled(context.Background(), slog.LevelInfo))
}

func TestModuleFailsOnBadConfig(t *testing.T) {
	t.Setenv("PAVE_LOG_FORMAT", "xml")
	app := fx.New(logfx.Module, fx.Invoke(func(*slog.Logger) {}))
	assert.ErrorContains(t, app.Err(), "PAVE_LOG_FORMAT")
}
