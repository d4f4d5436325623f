// Package cost is the cost service: rate cards, meters and budgets.
//
// Today the service declares its streams (CMD_COST, EVT_COST),
// announces its start and stop, and drains on shutdown; its commands and
// handlers arrive with the issues that build them.
package cost

import (
	"go.uber.org/fx"

	"github.com/pave-platform/pave/pkg/service"
)

// Name of the service, its streams and its subjects.
const Name = "cost"

// Module runs the cost service.
var Module = fx.Module(Name, service.Lifecycle(Name))
