package platformfx

import (
	"log/slog"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"go.uber.org/fx"

	"github.com/pave-platform/pave/pkg/natsfx"
)

// ServiceConn makes the fx.Module it is part of (a service's) reach NATS
// as user, with that user's permissions (natsfx.ServiceUsers): the
// module's *nats.Conn, jetstream.JetStream and *bus.Bus are replaced by
// ones on natsfx.ServiceConn. In `pave dev` every service is in one
// process with its own login; a process of one service already logs in
// as the service's user, and keeps its connection.
func ServiceConn(user string) fx.Option {
	return fx.Decorate(
		func(lc fx.Lifecycle, cfg natsfx.Config, emb *natsfx.Embedded, log *slog.Logger, nc *nats.Conn) (*nats.Conn, error) {
			return natsfx.ServiceConn(lc, cfg, emb, log, nc, user)
		},
		func(nc *nats.Conn) (jetstream.JetStream, error) { return jetstream.New(nc) },
		NewBus,
	)
}
