// Package ports turns JetStream messages and API calls into the cost
// service's use cases.
package ports

import (
	"github.com/pave-platform/pave/pkg/bus"
	"github.com/pave-platform/pave/services/cost/internal/app"
)

// Consumers registers everything the cost service listens to. Each
// handler is idempotent and order-independent, so replicas may share them.
func Consumers(r *bus.Router, s *app.Service) {
	spec := func(stream, durable, filter string) bus.ConsumerSpec {
		return bus.ConsumerSpec{Stream: stream, Durable: durable, FilterSubjects: []string{filter},
			MaxDeliver: 20, Concurrency: 8, MaxAckPending: 4096}
	}
	r.Handle(spec("CMD_COST", "cost", "pave.cmd.cost.>"), s.HandleCheck)
	r.Handle(spec("EVT_PROVISIONING", "cost-resources", "pave.evt.provisioning.resource.>"), s.HandleResource)
	r.Handle(spec("EVT_LIFECYCLE", "cost-environments", "pave.evt.lifecycle.environment.transitioned"), s.HandleTransition)
	r.Handle(spec("EVT_SCHEDULER", "cost-workloads", "pave.evt.scheduler.workload.>"), s.HandleWorkload)
	r.Handle(spec("EVT_RUNNER", "cost-jobs", "pave.evt.runner.job.>"), s.HandleJob)
}
