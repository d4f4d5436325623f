package natsfx

import (
	"fmt"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/nats-io/nats-server/v2/server"
)

// Permissions are what one NATS user may publish and subscribe to. The
// server refuses everything else (a permissions violation; a request on
// a refused subject gets no answer).
type Permissions struct {
	Publish   []string
	Subscribe []string
	// Respond lets the user answer the requests it receives, and only
	// those: it may publish once on each reply subject it was sent,
	// without being allowed to publish on anyone's inbox.
	Respond bool
}

// The NATS users of the platform's services, one each (see ServiceConn).
const (
	AccessUser       = "access"
	CostUser         = "cost"
	GatewayUser      = "gateway"
	LifecycleUser    = "lifecycle"
	ProvisioningUser = "provisioning"
	SchedulerUser    = "scheduler"
	// RunnerUser is the NATS user of `pave runner` processes (and of
	// `pave dev`'s own runner).
	RunnerUser = "runner"
)

// InboxPrefix is where user's replies arrive. Each user gets its own, and
// may subscribe only there, so that no user can read the answers meant
// for another (an answer may carry a login).
func InboxPrefix(user string) string { return "_INBOX_" + user }

// RestrictedUsers are the users that do not hold the whole platform's
// power, one per service and the runner's, with what each may do.
// (PlatformUser, the operators' and pave dev's process-level login, holds
// everything; TenantUser lives in an account of its own and needs no list.)
func RestrictedUsers() map[string]Permissions {
	return map[string]Permissions{
		AccessUser:       accessPermissions(),
		CostUser:         costPermissions(),
		GatewayUser:      gatewayPermissions(),
		LifecycleUser:    lifecyclePermissions(),
		ProvisioningUser: provisioningPermissions(),
		SchedulerUser:    schedulerPermissions(),
		RunnerUser:       runnerPermissions(),
	}
}

// runnerPermissions: a runner takes the run commands of its pool from
// CMD_RUNNER, reports on pave.evt.runner.>, beats in SCHEDULER_RUNNERS,
// writes job output to JOB_OUTPUT, and watches the scheduler's events to
// stop jobs whose admission ended. It declares only its own streams; the
// core and the scheduler's streams must exist (the platform declares them).
func runnerPermissions() Permissions {
	var p perms
	p.common(RunnerUser)
	p.ownStreams("CMD_RUNNER", "EVT_RUNNER")
	p.pub("pave.evt.runner.>")
	p.consume("CMD_RUNNER")
	p.consume("EVT_SCHEDULER") // ordered consumer over the stop events
	p.kv("SCHEDULER_RUNNERS")
	p.obj("JOB_OUTPUT")
	return p.Permissions
}

// perms builds a Permissions list from what a service does with JetStream.
type perms struct{ Permissions }

func (p *perms) pub(s ...string) { p.Publish = append(p.Publish, s...) }

// common is what every Pave process does: reads replies in its own
// inbox, reads every stream's info (the fill monitor; no message), keeps
// the fill alerts' bucket and announces platform events (start, stop,
// dead letters, fill crossings). The core streams it only checks: it may
// create them when missing, never change them (AUDIT's limits are the
// access service's to set).
func (p *perms) common(user string) {
	p.Subscribe = append(p.Subscribe, InboxPrefix(user)+".>")
	p.pub("$JS.API.INFO", "$JS.API.STREAM.INFO.*", "$JS.API.STREAM.NAMES", "$JS.API.STREAM.LIST",
		"pave.evt.platform.>")
	for _, s := range []string{"INGRESS", "DLQ", "AUDIT", "EVT_PLATFORM"} {
		p.pub("$JS.API.STREAM.CREATE." + s)
	}
	p.kv("PLATFORM_STREAM_FILL")
}

// ownStreams may be created and updated by this user.
func (p *perms) ownStreams(names ...string) {
	for _, s := range names {
		p.pub("$JS.API.STREAM.CREATE."+s, "$JS.API.STREAM.UPDATE."+s)
	}
}

// consume is reading a stream through consumers (durable or not), with acks.
func (p *perms) consume(streams ...string) {
	for _, stream := range streams {
		p.consumeOne(stream)
	}
}

func (p *perms) consumeOne(stream string) {
	p.pub("$JS.API.CONSUMER.CREATE."+stream, "$JS.API.CONSUMER.CREATE."+stream+".>",
		"$JS.API.CONSUMER.DURABLE.CREATE."+stream+".>", "$JS.API.CONSUMER.INFO."+stream+".>",
		"$JS.API.CONSUMER.DELETE."+stream+".>", "$JS.API.CONSUMER.MSG.NEXT."+stream+".>",
		"$JS.ACK."+stream+".>", "$JS.FC."+stream+".>",
		// What a handler refuses, or what ran out of deliveries, is
		// dead-lettered under the stream's name.
		"pave.dlq."+stream+".>")
	// The bus dead-letters what ran out of deliveries from this advisory.
	p.Subscribe = append(p.Subscribe, "$JS.EVENT.ADVISORY.CONSUMER.MAX_DELIVERIES."+stream+".>")
}

// kv is full use of one key-value bucket: declare, read, write, watch.
func (p *perms) kv(buckets ...string) {
	for _, b := range buckets {
		p.kvOne(b)
	}
}

func (p *perms) kvOne(bucket string) {
	s := "KV_" + bucket
	p.ownStreams(s)
	p.pub("$KV."+bucket+".>", "$JS.API.DIRECT.GET."+s, "$JS.API.DIRECT.GET."+s+".>",
		"$JS.API.STREAM.MSG.GET."+s, "$JS.API.STREAM.PURGE."+s)
	p.consume(s)
}

// obj is full use of one object store.
func (p *perms) obj(buckets ...string) {
	for _, b := range buckets {
		p.objOne(b)
	}
}

func (p *perms) objOne(bucket string) {
	s := "OBJ_" + bucket
	p.ownStreams(s)
	p.pub("$O."+bucket+".>", "$JS.API.DIRECT.GET."+s, "$JS.API.DIRECT.GET."+s+".>",
		"$JS.API.STREAM.MSG.GET."+s, "$JS.API.STREAM.PURGE."+s)
	p.consume(s)
}

// serverPermissions is p as the server takes it.
func (p Permissions) serverPermissions() *server.Permissions {
	sp := &server.Permissions{
		Publish:   &server.SubjectPermission{Allow: sorted(p.Publish)},
		Subscribe: &server.SubjectPermission{Allow: sorted(p.Subscribe)},
	}
	if p.Respond {
		sp.Response = &server.ResponsePermission{MaxMsgs: 1, Expires: time.Minute}
	}
	return sp
}

// restrictedNames are the users of restricted, sorted.
func restrictedNames(restricted map[string]Permissions) []string {
	names := make([]string, 0, len(restricted))
	for name := range restricted {
		names = append(names, name)
	}
	return sorted(names)
}

func sorted(s []string) []string {
	out := append([]string(nil), s...)
	sort.Strings(out)
	return out
}

// PasswordVariable is the environment variable a deployed NATS server
// (docker-compose, deploy/nats) reads user's password from.
func PasswordVariable(user string) string {
	if user == PlatformUser {
		return "PAVE_NATS_PASSWORD"
	}
	return "PAVE_NATS_" + strings.ToUpper(user) + "_PASSWORD"
}

// AuthorizationConf is the authorization block of a deployed NATS server
// (deploy/nats/auth.conf): the platform's user and every restricted one
// with its permissions, each password taken from PasswordVariable.
func AuthorizationConf() string {
	var b strings.Builder
	b.WriteString("# The bus's users and what each may do. Generated from pkg/natsfx\n")
	b.WriteString("# (RestrictedUsers): PAVE_UPDATE_NATS_CONF=1 go test ./pkg/natsfx/ -run TestDeployedNATSUsers\n")
	b.WriteString("authorization {\n  users = [\n")
	fmt.Fprintf(&b, "    {user: %s, password: $%s}\n", PlatformUser, PasswordVariable(PlatformUser))
	restricted := RestrictedUsers()
	for _, name := range restrictedNames(restricted) {
		p := restricted[name]
		fmt.Fprintf(&b, "    {\n      user: %s, password: $%s\n      permissions: {\n", name, PasswordVariable(name))
		fmt.Fprintf(&b, "        publish: {allow: %s}\n", quoted(p.Publish))
		fmt.Fprintf(&b, "        subscribe: {allow: %s}\n", quoted(p.Subscribe))
		if p.Respond {
			b.WriteString("        allow_responses: {max: 1, expires: \"1m\"}\n")
		}
		b.WriteString("      }\n    }\n")
	}
	b.WriteString("  ]\n}\n")
	// The environments' NATS resources live in an account of their own,
	// which shares nothing with the platform's; the provisioning service
	// makes their streams there as TenantUser (PAVE_PROVISIONING_NATS_URL).
	b.WriteString("\n# The environments' streams: nothing of the platform's is in this account.\n")
	fmt.Fprintf(&b, "accounts {\n  %s {\n    jetstream: enabled\n    users = [\n      {user: %s, password: $%s}\n    ]\n  }\n}\n",
		TenantAccount, TenantUser, PasswordVariable(TenantUser))
	return b.String()
}

// HelmUsers is AuthorizationConf's users as the Helm chart's values.yaml
// lists them (nats.config.merge.authorization.users, indented by
// indent), each password from the container's PasswordVariable, followed
// by the tenants' account (nats.config.merge.accounts, two levels up).
func HelmUsers(indent string) string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s- user: %s\n%s  password: << $%s >>\n", indent, PlatformUser, indent, PasswordVariable(PlatformUser))
	restricted := RestrictedUsers()
	for _, name := range restrictedNames(restricted) {
		p := restricted[name]
		fmt.Fprintf(&b, "%s- user: %s\n%s  password: << $%s >>\n%s  permissions:\n", indent, name, indent, PasswordVariable(name), indent)
		for _, l := range []struct {
			what string
			subs []string
		}{{"publish", p.Publish}, {"subscribe", p.Subscribe}} {
			fmt.Fprintf(&b, "%s    %s:\n%s      allow:\n", indent, l.what, indent)
			for _, s := range sorted(l.subs) {
				fmt.Fprintf(&b, "%s        - %s\n", indent, strconv.Quote(s))
			}
		}
		if p.Respond {
			fmt.Fprintf(&b, "%s    allow_responses: {max: 1, expires: \"1m\"}\n", indent)
		}
	}
	up := indent[:max(0, len(indent)-4)]
	fmt.Fprintf(&b, "%saccounts:\n%s  %s:\n%s    jetstream: enabled\n%s    users:\n%s      - user: %s\n%s        password: << $%s >>\n",
		up, up, TenantAccount, up, up, up, TenantUser, up, PasswordVariable(TenantUser))
	return b.String()
}

func quoted(subjects []string) string {
	q := make([]string, 0, len(subjects))
	for _, s := range sorted(subjects) {
		q = append(q, strconv.Quote(s))
	}
	return "[" + strings.Join(q, ", ") + "]"
}
