// Command gateway runs the gateway service on its own.
package main

import (
	"go.uber.org/fx"

	"github.com/pave-platform/pave/pkg/platformfx"
	"github.com/pave-platform/pave/services/gateway"
)

func main() {
	fx.New(platformfx.App(gateway.Module)).Run()
}
