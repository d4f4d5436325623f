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
