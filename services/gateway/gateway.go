// Package gateway is the HTTP edge of Pave: it authenticates every /v1
// request through the access service and answers from the platform's
// registries and read models.
package gateway

import (
	"log/slog"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"go.uber.org/fx"

	"github.com/pave-platform/pave/pkg/authn"
	"github.com/pave-platform/pave/pkg/config"
	"github.com/pave-platform/pave/pkg/httpfx"
	"github.com/pave-platform/pave/pkg/otelfx"
	"github.com/pave-platform/pave/pkg/redisfx"
	"github.com/pave-platform/pave/pkg/schema"
	"github.com/pave-platform/pave/pkg/service"
	"github.com/pave-platform/pave/services/access/audit"
	"github.com/pave-platform/pave/services/access/decide"
	"github.com/pave-platform/pave/services/gateway/internal/ports"
)

// Name of the service, its streams and its subjects.
const Name = "gateway"

// Module runs the gateway: its routes join the process's HTTP server.
var Module = fx.Module(Name,
	service.Lifecycle(Name),
	fx.Provide(httpfx.AsRoute(newAPIRoute)),
)

func newAPIRoute(nc *nats.Conn, js jetstream.JetStream, reg *schema.Registry, rc redisfx.Client, log *slog.Logger) (httpfx.Route, error) {
	client := authn.NewClient(nc, 2*time.Second)
	// Every /v1 route is decided in-process against the Cedar policies
	// (an invalid policy stops the start) and recorded in the audit ledger.
	var cfg decide.Config
	if err := config.Load(&cfg); err != nil {
		return httpfx.Route{}, err
	}
	policies, err := decide.Load(cfg)
	if err != nil {
		return httpfx.Route{}, err
	}
	az := ports.Authz{Decider: decide.New(policies), Recorder: audit.NewLedger(js)}
	api := ports.API(ports.Deps{Auth: client, Caller: ports.NATSCaller{NC: nc}, Types: reg, Authz: az,
		Log: log.With("service", Name), NC: nc, JS: js, Registry: reg, Redis: rc.Redis})
	// Every API request starts (or continues) a trace at the edge.
	return httpfx.Route{Pattern: "/v1/", Handler: otelfx.HTTPHandler(Name, api)}, nil
}
