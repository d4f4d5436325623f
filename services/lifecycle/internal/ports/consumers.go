package ports

import (
	"github.com/pave-platform/pave/pkg/bus"
	"github.com/pave-platform/pave/pkg/saga"
	"github.com/pave-platform/pave/services/lifecycle/internal/app"
	"github.com/pave-platform/pave/services/lifecycle/internal/promotion"
)

// Consumers registers everything lifecycle listens to: the results of the
// steps its sagas sent, the sagas' own progress, promotion commands and
// the gateway's CI and Git reports.
func Consumers(r *bus.Router, svc *app.Service, promoter *promotion.Promoter, engine *saga.Engine) {
	spec := func(stream, durable string, concurrency int, filters ...string) bus.ConsumerSpec {
		return bus.ConsumerSpec{Stream: stream, Durable: durable, FilterSubjects: filters,
			MaxDeliver: 20, Concurrency: concurrency}
	}
	r.Handle(spec("EVT_PROVISIONING", "lifecycle-results", 16, "pave.evt.provisioning.resource.>"),
		svc.HandleProvisioningResult(engine))
	r.Handle(spec("EVT_SCHEDULER", "lifecycle-admissions", 16, "pave.evt.scheduler.workload.>"),
		svc.HandleAdmission(engine))
	r.Handle(spec("EVT_COST", "lifecycle-cost-checks", 16, "pave.evt.cost.check.>"), svc.HandleCostCheck(engine))
	r.Handle(spec("EVT_PROVISIONING", "lifecycle-credentials", 16, "pave.evt.provisioning.credentials.>"),
		svc.HandleCredentialsResult(engine))
	r.Handle(spec("EVT_LIFECYCLE", "lifecycle-sagas", 16, "pave.evt.lifecycle.saga.progressed"), svc.HandleSagaProgress)
	r.Handle(spec("CMD_LIFECYCLE", "lifecycle-promote", 16, "pave.cmd.lifecycle.promote"), promoter.HandlePromoteCommand)
	r.Handle(spec("EVT_LIFECYCLE", "lifecycle-promotions", 16, "pave.evt.lifecycle.saga.progressed"),
		promoter.HandleSagaProgress)
	r.Handle(spec("EVT_GATEWAY", "lifecycle-ci", 4, "pave.evt.gateway.ci.completed", "pave.evt.gateway.git.pushed"),
		promoter.HandleGatewayEvent)
}
