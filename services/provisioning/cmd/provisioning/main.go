// Command provisioning runs the provisioning service on its own.
package main

import (
	"go.uber.org/fx"

	"github.com/pave-platform/pave/pkg/platformfx"
	"github.com/pave-platform/pave/services/provisioning"
)

func main() {
	fx.New(platformfx.App(provisioning.Module)).Run()
}
