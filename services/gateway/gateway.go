// Package gateway is the HTTP edge of Pave: it authenticates every /v1
// request through the access service and answers from the platform's
// registries and read models.
package gateway

import (
	"log/slog"
	"time"

	"github.com/nats-io/nats.go"
	"go.uber.org/fx"

	"github.com/pave-platform/pave/pkg/authn"
	"github.com/pave-platform/pave/pkg/httpfx"
	"github.com/pave-platform/pave/pkg/schema"
	"github.com/pave-platform/pave/pkg/service"
	"github.com/pave-platform/pave/services/gateway/internal/ports"
)

// Name of the service, its streams and its subjects.
const Name = "gateway"

// Module runs the gateway: its routes join the process's HTTP server.
var Module = fx.Module(Name,
	service.Lifecycle(Name),
	fx.Provide(httpfx.AsRoute(newAPIRoute)),
)

func newAPIRoute(nc *nats.Conn, reg *schema.Registry, log *slog.Logger) httpfx.Route {
	client := authn.NewClient(nc, 2*time.Second)
	return httpfx.Route{Pattern: "/v1/", Handler: ports.API(client, ports.NATSCaller{NC: nc}, reg, log.With("service", Name))}
}
