// Command cost runs the cost service on its own.
package main

import (
	"go.uber.org/fx"

	"github.com/pave-platform/pave/pkg/platformfx"
	"github.com/pave-platform/pave/services/cost"
)

func main() {
	fx.New(platformfx.App(cost.Module)).Run()
}
