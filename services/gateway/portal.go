package gateway

import (
	"log/slog"

	"github.com/pave-platform/pave/pkg/httpfx"
	"github.com/pave-platform/pave/pkg/otelfx"
	"github.com/pave-platform/pave/services/gateway/internal/portal"
)

// newPortalRoute serves the web portal at /: its pages call the /v1
// handler above with the signed-in user's token.
func newPortalRoute(gc Config, api portal.API, log *slog.Logger) (httpfx.Route, error) {
	p, err := portal.New(gc.Portal, api, log.With("service", Name, "component", "portal"))
	if err != nil {
		return httpfx.Route{}, err
	}
	return httpfx.Route{Pattern: "/", Handler: otelfx.HTTPHandler(Name, p.Handler())}, nil
}
