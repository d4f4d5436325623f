// Package provisioning is the provisioning service: the resource ledger and the drivers that create real resources.
//
// Today the service declares its streams (CMD_PROVISIONING, EVT_PROVISIONING),
// announces its start and stop, and drains on shutdown; its commands and
// handlers arrive with the issues that build them.
package provisioning

import (
	"go.uber.org/fx"

	"github.com/pave-platform/pave/pkg/service"
)

// Name of the service, its streams and its subjects.
const Name = "provisioning"

// Module runs the provisioning service.
var Module = fx.Module(Name, service.Lifecycle(Name))
