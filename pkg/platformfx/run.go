package platformfx

import (
	"context"
	"log/slog"

	"github.com/nats-io/nats.go"
	"go.uber.org/fx"

	"github.com/pave-platform/pave/pkg/bus"
	"github.com/pave-platform/pave/pkg/config"
)

// Startable is a service that the process starts and stops.
type Startable interface {
	Start(context.Context) error
	Stop(context.Context) error
}

// Parts are what a service is built from.
type Parts struct {
	fx.In
	LC  fx.Lifecycle
	NC  *nats.Conn
	Bus *bus.Bus
	SO  bus.StreamOptions
	MW  Middleware
	Log *slog.Logger
}

// Run loads a service's configuration C from the environment (an error
// names the variable), builds the service with build and starts and stops
// it with the process.
func Run[C any, S Startable](build func(*nats.Conn, *bus.Bus, bus.StreamOptions, Middleware, C, *slog.Logger) (S, error)) fx.Option {
	return fx.Invoke(func(p Parts) error {
		var cfg C
		if err := config.Load(&cfg); err != nil {
			return err
		}
		s, err := build(p.NC, p.Bus, p.SO, p.MW, cfg, p.Log)
		if err != nil {
			return err
		}
		p.LC.Append(fx.StartStopHook(s.Start, s.Stop))
		return nil
	})
}
