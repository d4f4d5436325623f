// Package ports turns JetStream messages and API calls into the cost
// service's use cases.
package ports

import (
	"github.com/pave-platform/pave/pkg/bus"
	"github.com/pave-platform/pave/services/cost/internal/app"
)

// Consumer is one durable consumer and its handler.
type Consumer struct {
	Spec    bus.ConsumerSpec
	Handler bus.Handler
}

// Consumers are everything the cost service listens to. Each handler is
// idempotent and order-independent, so replicas may share them.
func Consumers(s *app.Service) []Consumer {
	spec := func(stream, durable, filter string) bus.ConsumerSpec {
		return bus.ConsumerSpec{Stream: stream, Durable: durable, FilterSubjects: []string{filter},
			MaxDeliver: 20, Concurrency: 8, MaxAckPending: 4096}
	}
	return []Consumer{
		{spec("CMD_COST", "cost", "pave.cmd.cost.>"), s.HandleCheck},
		{spec("EVT_PROVISIONING", "cost-resources", "pave.evt.provisioning.resource.>"), s.HandleResource},
		{spec("EVT_LIFECYCLE", "cost-environments", "pave.evt.lifecycle.environment.transitioned"), s.HandleTransition},
		{spec("EVT_SCHEDULER", "cost-workloads", "pave.evt.scheduler.workload.>"), s.HandleWorkload},
		{spec("EVT_RUNNER", "cost-jobs", "pave.evt.runner.job.>"), s.HandleJob},
	}
}
