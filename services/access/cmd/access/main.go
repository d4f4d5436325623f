// Command access runs the access service on its own.
package main

import (
	"go.uber.org/fx"

	"github.com/pave-platform/pave/pkg/platformfx"
	"github.com/pave-platform/pave/services/access"
)

func main() {
	fx.New(platformfx.App(access.Module)).Run()
}
