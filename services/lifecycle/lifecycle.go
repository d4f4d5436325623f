// Package lifecycle is the lifecycle service: environments, templates, promotions and the sagas that build and tear them down.
//
// Today the service declares its streams (CMD_LIFECYCLE, EVT_LIFECYCLE),
// announces its start and stop, and drains on shutdown; its commands and
// handlers arrive with the issues that build them.
package lifecycle

import (
	"go.uber.org/fx"

	"github.com/pave-platform/pave/pkg/service"
)

// Name of the service, its streams and its subjects.
const Name = "lifecycle"

// Module runs the lifecycle service.
var Module = fx.Module(Name, service.Lifecycle(Name))
