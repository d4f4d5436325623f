package rpc

// Subjects of the API calls the gateway forwards. The owning service
// answers each one; the gateway never reads a service's state.
const (
	TemplatesList = "pave.lifecycle.api.templates.list"
	TemplatesGet  = "pave.lifecycle.api.templates.get"

	EnvironmentsCreate = "pave.lifecycle.api.environments.create"
	EnvironmentsList   = "pave.lifecycle.api.environments.list"
	EnvironmentsGet    = "pave.lifecycle.api.environments.get"
	EnvironmentsUpdate = "pave.lifecycle.api.environments.update"
	EnvironmentsDelete = "pave.lifecycle.api.environments.delete"
	EnvironmentsExtend = "pave.lifecycle.api.environments.extend"

	// ResourceCredentials is answered by provisioning: {environment_id,
	// resource_id} → the resource's login. Only the gateway calls it, and
	// only for callers allowed to see credentials.
	ResourceCredentials = "pave.provisioning.credentials"
)

// Scheduler API calls. Only the scheduler's leader answers them; during a
// failover nobody does for a few seconds and the gateway answers 503.
const (
	WorkloadsSubmit = "pave.scheduler.api.workloads.submit"
	WorkloadsList   = "pave.scheduler.api.workloads.list"
	WorkloadsGet    = "pave.scheduler.api.workloads.get"
	WorkloadsCancel = "pave.scheduler.api.workloads.cancel"
	PoolsList       = "pave.scheduler.api.pools.list"
	PoolsGet        = "pave.scheduler.api.pools.get"
	PoolsPut        = "pave.scheduler.api.pools.put"
	QuotasGet       = "pave.scheduler.api.quotas.get"
	QuotasPut       = "pave.scheduler.api.quotas.put"
)
