package httpfx

import (
	"log/slog"
	"net/http"

	"go.uber.org/fx"
)

// AsRoute annotates a constructor returning a Route (and optionally an
// error) so its result joins the "routes" group the server serves:
//
//	fx.Provide(httpfx.AsRoute(ports.NewEventTypesRoute))
func AsRoute(f any) any {
	return fx.Annotate(f, fx.ResultTags(`group:"routes"`))
}

// AsRoutes is AsRoute for a constructor returning []Route.
func AsRoutes(f any) any {
	return fx.Annotate(f, fx.ResultTags(`group:"routes,flatten"`))
}

// AsReadinessCheck annotates a constructor returning a ReadinessCheck so
// its result joins the "readiness" group that /readyz runs.
func AsReadinessCheck(f any) any {
	return fx.Annotate(f, fx.ResultTags(`group:"readiness"`))
}

// Module provides Config and *Server, built from the Route values of group
// "routes", the ReadinessCheck values of group "readiness", the optional
// http.Handler named "metrics" (otelfx provides it) and the optional
// *slog.Logger, and starts and stops the server with the application.
//
// fx stops hooks in reverse order of registration, and the server's are
// registered after those of everything its routes and checks depend on, so
// on stop readiness turns off and requests drain before those
// dependencies stop. The application's fx.StopTimeout should exceed
// PAVE_HTTP_DRAIN_DELAY + PAVE_HTTP_SHUTDOWN_TIMEOUT.
var Module = fx.Module("httpfx",
	fx.Provide(LoadConfig, newServer),
	fx.Invoke(func(*Server) {}),
)

type serverParams struct {
	fx.In

	Lifecycle fx.Lifecycle
	Config    Config
	Routes    []Route          `group:"routes"`
	Checks    []ReadinessCheck `group:"readiness"`
	Metrics   http.Handler     `name:"metrics" optional:"true"`
	Logger    *slog.Logger     `optional:"true"`
}

func newServer(p serverParams) (*Server, error) {
	s, err := NewServer(p.Config, p.Routes, p.Checks, p.Metrics, p.Logger)
	if err != nil {
		return nil, err
	}
	p.Lifecycle.Append(fx.StartStopHook(s.Start, s.Stop))
	return s, nil
}
