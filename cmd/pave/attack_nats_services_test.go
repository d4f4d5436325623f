package main

import (
	"context"
	"errors"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/pave-platform/pave/pkg/natsfx"
	"github.com/pave-platform/pave/pkg/rpc"
)

// TestAttackNATSServiceUsersReachOnlyTheirSubjects: in pave dev every
// service logs in as its own user. A service's login, used by an
// attacker, reaches its own bucket (and the endpoints it calls), but
// cannot do another service's job: forge an audit record, ask for a
// password, read access's tokens or write lifecycle's environments.
func TestAttackNATSServiceUsersReachOnlyTheirSubjects(t *testing.T) {
	addr := freeAddr(t)
	p := startPlatform(t, "../../deploy/templates", map[string]string{"PAVE_NATS_EMBEDDED_ADDR": addr})
	url := "nats://" + addr
	credDir := filepath.Join(p.dataDir, "nats")
	ctx := context.Background()
	auditBefore := streamMsgs(t, p.js, "AUDIT")

	tests := []struct {
		user string
		// own is a bucket of the user's service: it reads it.
		own string
		// calls is an endpoint the service calls: it gets an answer.
		calls string
		// refusedPub are subjects it may not publish, refusedCall
		// endpoints it may not ask, refusedRead buckets it may not read,
		// refusedWrite buckets it may not write.
		refusedPub   []string
		refusedCall  []string
		refusedRead  []string
		refusedWrite []string
	}{
		{user: natsfx.CostUser, own: "COST_METERS", calls: rpc.TemplatesGet,
			refusedPub:  []string{"pave.audit.decision", "pave.evt.lifecycle.environment.transitioned", "pave.cmd.provisioning.provision"},
			refusedCall: []string{rpc.ResourceCredentials, rpc.GrantCredentials, rpc.EnvironmentReceipt, rpc.TokensCreate, "pave.access.authenticate", "pave.access.audit.append"},
			refusedRead: []string{"ACCESS_TOKENS", "PROVISIONING_LEDGER"}, refusedWrite: []string{"LIFECYCLE_ENVIRONMENTS"}},
		{user: natsfx.GatewayUser, own: "GATEWAY_AUTOMATIONS", calls: rpc.TemplatesList,
			refusedPub:  []string{"pave.audit.decision", "pave.evt.access.grant.activated", "pave.cmd.provisioning.provision"},
			refusedRead: []string{"ACCESS_TOKENS", "PROVISIONING_LEDGER"}, refusedWrite: []string{"LIFECYCLE_ENVIRONMENTS", "ACCESS_TOKENS"}},
		{user: natsfx.LifecycleUser, own: "LIFECYCLE_ENVIRONMENTS", calls: rpc.Authorize,
			refusedPub:  []string{"pave.audit.decision", "pave.evt.provisioning.resource.ready"},
			refusedCall: []string{rpc.ResourceCredentials, rpc.TokensCreate, "pave.access.authenticate", "pave.access.audit.append"},
			refusedRead: []string{"ACCESS_TOKENS", "PROVISIONING_LEDGER"}},
		{user: natsfx.ProvisioningUser, own: "PROVISIONING_LEDGER",
			refusedPub:  []string{"pave.audit.decision", "pave.evt.lifecycle.environment.transitioned"},
			refusedCall: []string{rpc.TokensCreate, "pave.access.authenticate", "pave.access.audit.append", rpc.EnvironmentsDelete},
			refusedRead: []string{"ACCESS_TOKENS"}, refusedWrite: []string{"LIFECYCLE_ENVIRONMENTS"}},
		{user: natsfx.SchedulerUser, own: "SCHEDULER_LEADER",
			refusedPub:  []string{"pave.audit.decision", "pave.cmd.provisioning.provision"},
			refusedCall: []string{rpc.ResourceCredentials, rpc.TokensCreate, "pave.access.authenticate"},
			refusedRead: []string{"ACCESS_TOKENS", "LIFECYCLE_ENVIRONMENTS"}},
		{user: natsfx.AccessUser, own: "ACCESS_TOKENS",
			refusedPub:  []string{"pave.evt.lifecycle.environment.transitioned", "pave.cmd.provisioning.provision"},
			refusedCall: []string{rpc.ResourceCredentials, rpc.GrantCredentials, rpc.EnvironmentReceipt},
			refusedRead: []string{"PROVISIONING_LEDGER"}, refusedWrite: []string{"LIFECYCLE_ENVIRONMENTS"}},
	}
	// Each refused attempt waits out its timeout: the six users are tried
	// at once (t.Run may be called from several goroutines).
	var wg sync.WaitGroup
	for _, tt := range tests {
		wg.Go(func() {
			t.Run(tt.user, func(t *testing.T) {
				var v violations
				nc, err := nats.Connect(url, nats.UserInfo(tt.user, readFile(t, natsfx.PasswordFile(credDir, tt.user))),
					nats.CustomInboxPrefix(natsfx.InboxPrefix(tt.user)), nats.ErrorHandler(v.handler))
				require.NoError(t, err, "pave dev gives %s a login", tt.user)
				defer nc.Close()
				js, err := jetstream.New(nc)
				require.NoError(t, err)

				// What the service does works with its login.
				short, cancel := context.WithTimeout(ctx, 5*time.Second)
				kv, err := js.KeyValue(short, tt.own)
				require.NoError(t, err, "%s opens its bucket %s", tt.user, tt.own)
				_, err = kv.Get(short, "attack-probe")
				cancel()
				assert.ErrorIs(t, err, jetstream.ErrKeyNotFound, "%s reads its bucket %s", tt.user, tt.own)
				if tt.calls != "" {
					_, err := nc.Request(tt.calls, []byte(`{}`), 5*time.Second)
					assert.NoError(t, err, "%s gets an answer from %s, which it calls", tt.user, tt.calls)
				}

				// Another service's job is refused.
				var wants []string
				for _, subject := range tt.refusedPub {
					short, cancel := context.WithTimeout(ctx, 2*time.Second)
					_, err := js.Publish(short, subject, []byte(`{"forged":true}`))
					cancel()
					assert.Error(t, err, "%s cannot publish %s", tt.user, subject)
					wants = append(wants, `Publish to "`+subject+`"`)
				}
				for _, subject := range tt.refusedCall {
					_, err := nc.Request(subject, []byte(`{"environment_id":"x","resource_id":"db"}`), time.Second)
					assert.Error(t, err, "%s gets no answer from %s", tt.user, subject)
					wants = append(wants, `Publish to "`+subject+`"`)
				}
				for _, bucket := range tt.refusedRead {
					short, cancel := context.WithTimeout(ctx, 2*time.Second)
					kv, err := js.KeyValue(short, bucket)
					if err == nil {
						_, err = kv.Get(short, "anything")
						if err == nil || errors.Is(err, jetstream.ErrKeyNotFound) {
							_, err = kv.ListKeys(short)
						}
					}
					cancel()
					assert.Error(t, err, "%s cannot read %s", tt.user, bucket)
					wants = append(wants, "KV_"+bucket)
				}
				for _, bucket := range tt.refusedWrite {
					short, cancel := context.WithTimeout(ctx, 2*time.Second)
					_, err := js.Publish(short, "$KV."+bucket+".attack-probe", []byte(`forged`))
					cancel()
					assert.Error(t, err, "%s cannot write %s", tt.user, bucket)
					wants = append(wants, `Publish to "$KV.`+bucket+`.attack-probe"`)
					own, err := p.js.KeyValue(ctx, bucket)
					require.NoError(t, err)
					_, err = own.Get(ctx, "attack-probe")
					assert.ErrorIs(t, err, jetstream.ErrKeyNotFound, "nothing was written to %s", bucket)
				}
				require.Eventually(t, func() bool {
					for _, w := range wants {
						if !v.has(w) {
							return false
						}
					}
					return true
				}, 20*time.Second, 50*time.Millisecond, "the server did not refuse each attempt of %s: %s", tt.user, &v)
			})
		})
	}
	wg.Wait()
	assert.Equal(t, auditBefore, streamMsgs(t, p.js, "AUDIT"), "no record was added to the ledger")
}
