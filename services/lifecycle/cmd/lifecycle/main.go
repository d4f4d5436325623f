// Command lifecycle runs the lifecycle service on its own.
package main

import (
	"go.uber.org/fx"

	"github.com/pave-platform/pave/pkg/platformfx"
	"github.com/pave-platform/pave/services/lifecycle"
)

func main() {
	fx.New(platformfx.App(lifecycle.Module)).Run()
}
