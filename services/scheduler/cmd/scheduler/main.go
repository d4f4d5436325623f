// Command scheduler runs the scheduler service on its own.
package main

import (
	"go.uber.org/fx"

	"github.com/pave-platform/pave/pkg/platformfx"
	"github.com/pave-platform/pave/services/scheduler"
)

func main() {
	fx.New(platformfx.App(scheduler.Module)).Run()
}
