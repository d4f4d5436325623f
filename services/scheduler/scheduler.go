// Package scheduler is the scheduler service: weighted fair queueing of the platform's shared capacity.
//
// Today the service declares its streams (CMD_SCHEDULER, EVT_SCHEDULER),
// announces its start and stop, and drains on shutdown; its commands and
// handlers arrive with the issues that build them.
package scheduler

import (
	"go.uber.org/fx"

	"github.com/pave-platform/pave/pkg/service"
)

// Name of the service, its streams and its subjects.
const Name = "scheduler"

// Module runs the scheduler service.
var Module = fx.Module(Name, service.Lifecycle(Name))
