package natsfx

import "strings"

// The services' permissions: what each one's code does on the bus, and
// nothing more. A service declares its own streams and those of the peers
// it reads (bus.ServiceStreams, in the same shape as their owner), so that
// processes may start in any order; it serves its rpc subjects and calls
// only the endpoints it uses. The endpoints that hand out secrets
// (credentials, grant credentials, receipts, token creation,
// authentication, the audit append) are requested by the gateway alone,
// and only access may publish pave.audit.>.

// accessPermissions: identities, tokens, decisions, JIT grants and the
// audit ledger.
func accessPermissions() Permissions {
	var p perms
	p.service(AccessUser, "pave-access", "pave-access-api", "pave-access-authorize")
	p.Subscribe = append(p.Subscribe, "pave.access.>")
	p.peerStreams("lifecycle", "provisioning", "scheduler", "gateway")
	// The ledger: it appends, reads, archives and purges AUDIT, whose
	// limits are its to set.
	p.ownStreams("AUDIT")
	p.pub("pave.audit.>", "$JS.API.STREAM.MSG.GET.AUDIT", "$JS.API.STREAM.PURGE.AUDIT",
		"pave.access.grants.used")
	p.consume("AUDIT")
	p.consume("EVT_LIFECYCLE", "EVT_PROVISIONING", "EVT_SCHEDULER", "EVT_GATEWAY")
	p.kv("ACCESS_IDENTITIES", "ACCESS_TOKENS", "ACCESS_REQUESTS", "ACCESS_REVIEWS", "ACCESS_GRANTS",
		"ACCESS_TEAM_RESOURCES", "ACCESS_INCIDENTS")
	p.obj("AUDIT_ARCHIVE")
	return p.Permissions
}

// costPermissions: meters from resource, environment, workload and job
// events, budgets and checks; it reads templates from lifecycle.
func costPermissions() Permissions {
	var p perms
	p.service(CostUser, "pave-cost")
	p.Subscribe = append(p.Subscribe, "pave.cost.api.>")
	p.peerStreams("provisioning", "lifecycle", "scheduler", "runner")
	p.consume("CMD_COST", "EVT_PROVISIONING", "EVT_LIFECYCLE", "EVT_SCHEDULER", "EVT_RUNNER")
	p.kv("COST_METERS", "COST_BUDGETS", "COST_ALERTS")
	p.pub("pave.lifecycle.api.templates.get")
	return p.Permissions
}

// gatewayPermissions: the API (which forwards to every service's rpc,
// asks access who a token is and records audit reads), webhooks, ingress,
// automations, notifications and the event streams it shows.
func gatewayPermissions() Permissions {
	var p perms
	p.service(GatewayUser, "pave-gateway-automate")
	p.Subscribe = append(p.Subscribe, "pave.gateway.api.>")
	// The event streams it shows are declared when missing, as their
	// owners declare them (notifications, live feeds).
	p.peerStreams("access", "lifecycle", "cost", "runner", "provisioning", "scheduler")
	p.pub("pave.cmd.gateway.>", "pave.ingress.>", "pave.access.grants.used",
		// The API's calls: every service's API, and the endpoints that
		// hand out secrets, which only the gateway may ask.
		"pave.access.api.>", "pave.lifecycle.api.>", "pave.cost.api.>", "pave.scheduler.api.>",
		"pave.gateway.api.>", "pave.access.grants.list", "pave.access.authenticate", "pave.access.audit.append",
		"pave.provisioning.credentials", "pave.provisioning.grant-credentials", "pave.provisioning.receipt",
		"pave.provisioning.servers.>", "pave.provisioning.credential-drift.sweep")
	// Its consumers, and the ordered consumers of the event streams it
	// shows (SSE, /v1/events, notifications, DORA).
	p.consume("CMD_GATEWAY", "INGRESS", "DLQ", "EVT_PLATFORM", "EVT_ACCESS", "EVT_COST", "EVT_GATEWAY",
		"EVT_LIFECYCLE", "EVT_PROVISIONING", "EVT_RUNNER", "EVT_SCHEDULER")
	p.pub("$JS.API.CONSUMER.INFO.INGRESS.>")
	p.kv("GATEWAY_WEBHOOK_DELIVERIES", "GATEWAY_NOTIFY_SUBSCRIPTIONS", "GATEWAY_NOTIFY_DELIVERIES",
		"GATEWAY_NOTIFY_CHAINS", "GATEWAY_NOTIFY_ALERTS", "GATEWAY_AUTOMATIONS", "GATEWAY_AUTOMATION_RUNS",
		"GATEWAY_DORA", "GATEWAY_EVENT_TYPES", "GATEWAY_RATE_LIMITS", "GATEWAY_INGRESS_STAMP")
	return p.Permissions
}

// lifecyclePermissions: environments and promotions as sagas, which send
// commands to provisioning, scheduler and cost and read their results;
// promotions ask access for a decision.
func lifecyclePermissions() Permissions {
	var p perms
	p.service(LifecycleUser, "pave-lifecycle")
	p.Subscribe = append(p.Subscribe, "pave.lifecycle.api.>")
	p.peerStreams("provisioning", "scheduler", "cost", "gateway")
	p.pub("pave.cmd.lifecycle.>", "pave.cmd.provisioning.>", "pave.cmd.scheduler.>", "pave.cmd.cost.>",
		"pave.access.authorize")
	p.consume("CMD_LIFECYCLE", "EVT_LIFECYCLE", "EVT_PROVISIONING", "EVT_SCHEDULER", "EVT_COST", "EVT_GATEWAY")
	p.kv("LIFECYCLE_ENVIRONMENTS", "LIFECYCLE_PROMOTIONS", "LIFECYCLE_SAGAS")
	return p.Permissions
}

// provisioningPermissions: resources from commands, grants' logins from
// access's grant events; it answers the credential endpoints.
func provisioningPermissions() Permissions {
	var p perms
	p.service(ProvisioningUser, "pave-provisioning")
	p.Subscribe = append(p.Subscribe, "pave.provisioning.>")
	p.peerStreams("access")
	p.consume("CMD_PROVISIONING", "EVT_ACCESS")
	p.kv("PROVISIONING_LEDGER", "PROVISIONING_GRANTS", "PROVISIONING_RECEIPTS", "PROVISIONING_SERVERS")
	return p.Permissions
}

// schedulerPermissions: admissions from commands and runner reports,
// appended to EVT_SCHEDULER by the leader; run commands to the runners.
func schedulerPermissions() Permissions {
	var p perms
	p.service(SchedulerUser, "pave-scheduler")
	p.Subscribe = append(p.Subscribe, "pave.scheduler.api.>")
	p.peerStreams("runner")
	p.pub("pave.cmd.runner.>")
	p.consume("CMD_SCHEDULER", "EVT_RUNNER", "EVT_SCHEDULER") // the log is replayed at election
	p.kv("SCHEDULER_LEADER", "SCHEDULER_RUNNERS")
	p.obj("SCHEDULER_SNAPSHOT", "JOB_OUTPUT")
	return p.Permissions
}

// service is what every platform service does: common, its own streams
// and events, and answering requests on its micro services (names).
func (p *perms) service(user string, names ...string) {
	p.common(user)
	p.peerStreams(user)
	p.pub("pave.evt." + user + ".>")
	p.Respond = true
	p.Subscribe = append(p.Subscribe, "$SRV.PING", "$SRV.INFO", "$SRV.STATS")
	for _, n := range names {
		p.Subscribe = append(p.Subscribe, "$SRV.*."+n, "$SRV.*."+n+".>")
	}
}

// peerStreams may declare the command and event streams of services.
func (p *perms) peerStreams(services ...string) {
	for _, s := range services {
		p.ownStreams("CMD_"+strings.ToUpper(s), "EVT_"+strings.ToUpper(s))
	}
}
