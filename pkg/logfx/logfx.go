// Package logfx builds the process's structured logger (log/slog) from
// configuration, stamps every record logged with a traced context with its
// trace and span ids, and routes fx's own events through it.
package logfx

import (
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strings"

	"go.uber.org/fx"
	"go.uber.org/fx/fxevent"

	"github.com/pave-platform/pave/pkg/config"
)

// Config selects the level and format of the logs.
type Config struct {
	// Level is debug, info, warn or error, optionally with an offset
	// (slog syntax, e.g. "info+2").
	Level string `env:"PAVE_LOG_LEVEL" envDefault:"info"`
	// Format is json (one object per line) or text (logfmt-like).
	Format string `env:"PAVE_LOG_FORMAT" envDefault:"json"`
}

// Validate checks the level and format.
func (c Config) Validate() error {
	var errs []error
	if _, err := parseLevel(c.Level); err != nil {
		errs = append(errs, config.Invalidf("PAVE_LOG_LEVEL", "%q is not a level (debug|info|warn|error)", c.Level))
	}
	if f := strings.ToLower(c.Format); f != "json" && f != "text" {
		errs = append(errs, config.Invalidf("PAVE_LOG_FORMAT", "%q is not a format (json|text)", c.Format))
	}
	return errors.Join(errs...)
}

// LoadConfig reads Config from the environment.
func LoadConfig() (Config, error) {
	var cfg Config
	err := config.Load(&cfg)
	return cfg, err
}

// New returns a logger writing to w in the configured format, at or above
// the configured level, that adds trace_id and span_id to records logged
// with a context holding a valid OpenTelemetry span.
func New(cfg Config, w io.Writer) (*slog.Logger, error) {
	level, err := parseLevel(cfg.Level)
	if err != nil {
		return nil, fmt.Errorf("log level %q: %w", cfg.Level, err)
	}
	opts := &slog.HandlerOptions{Level: level}
	var h slog.Handler
	switch strings.ToLower(cfg.Format) {
	case "json":
		h = slog.NewJSONHandler(w, opts)
	case "text":
		h = slog.NewTextHandler(w, opts)
	default:
		return nil, fmt.Errorf("log format %q: want json or text", cfg.Format)
	}
	return slog.New(NewTraceHandler(h)), nil
}

// FxEventLevel is the level of fx's own lifecycle events (provided,
// invoked, started, ...): below info, so they show only when debugging.
// Errors stay at error level.
const FxEventLevel = slog.LevelDebug

// NewFxEventLogger adapts logger for fx's events, at FxEventLevel.
func NewFxEventLogger(logger *slog.Logger) fxevent.Logger {
	l := &fxevent.SlogLogger{Logger: logger}
	l.UseLogLevel(FxEventLevel)
	return l
}

// WithFxLogger routes fx's events of the whole application through the
// *slog.Logger that Module provides. fx scopes an fx.WithLogger given
// inside a module to that module, so the binary's fx.New passes this
// option at the top level.
func WithFxLogger() fx.Option {
	return fx.WithLogger(NewFxEventLogger)
}

// Module provides Config and *slog.Logger (writing to stderr) and logs the
// module's fx events through that logger.
var Module = fx.Module("logfx",
	fx.Provide(
		LoadConfig,
		newStderrLogger,
	),
	fx.WithLogger(NewFxEventLogger),
)

func newStderrLogger(cfg Config) (*slog.Logger, error) {
	return New(cfg, os.Stderr)
}

func parseLevel(s string) (slog.Level, error) {
	var l slog.Level
	err := l.UnmarshalText([]byte(s))
	return l, err
}
