package app_test

import (
	"context"
	"encoding/json"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/pave-platform/pave/pkg/events"
	"github.com/pave-platform/pave/pkg/saga"
	"github.com/pave-platform/pave/pkg/schema"
	"github.com/pave-platform/pave/services/lifecycle/internal/app"
	"github.com/pave-platform/pave/services/lifecycle/internal/apptest"
	"github.com/pave-platform/pave/services/lifecycle/internal/domain"
)

func TestCredentialStepsWithoutThePolicy(t *testing.T) {
	p := testPolicy()
	p.GrantCredentials = false
	defs := shopDefinitions(t, p)
	for op, def := range defs {
		assert.NotContains(t, apptest.StepNames(def), app.StepIssueCredentials, op)
		assert.NotContains(t, apptest.StepNames(def), app.StepRevokeGrants, op)
	}
}

func TestCredentialStepPolicies(t *testing.T) {
	p := testPolicy()
	defs := shopDefinitions(t, p)
	issue := defs[app.OpCreate].Steps[3]
	resync := defs[app.OpUpdate].Steps[2]
	revoke := defs[app.OpTeardown].Steps[0]

	assert.NotNil(t, issue.Undo, "a compensated create drops the logins it issued")
	assert.Nil(t, resync.Undo, "a rolled-back update keeps a live environment's logins")
	assert.Nil(t, revoke.Undo)
	assert.Equal(t, 10, revoke.Retry.MaxAttempts, "teardown does not give up on a revocation quickly")
	assert.Equal(t, p.Timeout, issue.Timeout)
}

// TestCredentialCommands builds the credential commands and validates
// them against their JSON Schemas.
func TestCredentialCommands(t *testing.T) {
	reg, err := schema.Default()
	require.NoError(t, err)
	defs := shopDefinitions(t, testPolicy())
	issue, revoke := defs[app.OpCreate].Steps[3], defs[app.OpTeardown].Steps[0]
	data := app.SagaData{EnvironmentID: "env-abcdefgh2345", Team: "payments", Pool: "platform", Stage: "prod"}
	const createID, teardownID = "env-abcdefgh2345.create.1", "env-abcdefgh2345.teardown.4"
	undo, err := issue.Undo(instance(t, createID, data), saga.Ref{ID: createID, Step: "issue-credentials", Attempt: 1, Compensation: true})
	require.NoError(t, err)
	require.NotNil(t, undo)
	sync, err := issue.Do(instance(t, createID, data), saga.Ref{ID: createID, Step: "issue-credentials", Attempt: 2})
	require.NoError(t, err)
	teardown, err := revoke.Do(instance(t, teardownID, data), saga.Ref{ID: teardownID, Step: "revoke-grants", Attempt: 1})
	require.NoError(t, err)
	tests := []struct {
		name string
		cmd  saga.Command
		typ  string
		want any
	}{
		{"sync", sync, events.TypeCredentialsSyncCommand, events.CredentialsSyncCommand{
			Saga: *ref(createID, "issue-credentials", 2, false), EnvironmentID: "env-abcdefgh2345", Team: "payments", Stage: "prod"}},
		{"undo sync", *undo, events.TypeCredentialsRevokeCommand, events.CredentialsRevokeCommand{
			Saga: *ref(createID, "issue-credentials", 1, true), EnvironmentID: "env-abcdefgh2345"}},
		{"teardown", teardown, events.TypeCredentialsRevokeCommand, events.CredentialsRevokeCommand{
			Saga: *ref(teardownID, "revoke-grants", 1, false), EnvironmentID: "env-abcdefgh2345"}},
	}
	for _, tt := range tests {
		assert.Equal(t, tt.typ, tt.cmd.Type, tt.name)
		assert.NoError(t, reg.Validate(tt.cmd.Type, tt.cmd.Data), tt.name)
		want, err := json.Marshal(tt.want)
		require.NoError(t, err)
		assert.JSONEq(t, string(want), string(tt.cmd.Data), tt.name)
	}
}

// lastProvisioningCommand is the newest command for provisioning.
func (h *harness) lastProvisioningCommand(t *testing.T) (string, map[string]any) {
	t.Helper()
	cmds := h.Commands(t, "CMD_PROVISIONING")
	require.NotEmpty(t, cmds)
	var data map[string]any
	require.NoError(t, json.Unmarshal(cmds[len(cmds)-1].Data(), &data))
	return cmds[len(cmds)-1].Type(), data
}

func (h *harness) readyWithCredentials(t *testing.T) (domain.Environment, string) {
	t.Helper()
	env := h.Create(t)
	createID := app.SagaID(env.ID, app.OpCreate, 1)
	require.NoError(t, h.Scheduler(t, events.TypeWorkloadAdmitted, events.WorkloadAdmitted{WorkloadID: env.ID,
		Saga: ref(createID, "admit", 1, false), At: at}))
	h.Provisioning(t, events.TypeResourceProvisioned, createID, "provision-db", "db")
	h.Provisioning(t, events.TypeResourceProvisioned, createID, "provision-app", "app")
	return env, createID
}

func TestCreateIssuesCredentialsBeforeReadyAndTeardownRevokesThemFirst(t *testing.T) {
	h := newHarnessWith(t, app.DefaultStepPolicy())
	env, createID := h.readyWithCredentials(t)

	typ, sync := h.lastProvisioningCommand(t)
	require.Equal(t, events.TypeCredentialsSyncCommand, typ, "the resources are provisioned: their logins come next")
	assert.Equal(t, env.ID, sync["environment_id"])
	assert.Equal(t, "payments", sync["team"])
	assert.Equal(t, events.TypeSubmitCommand, h.LastSchedulerCommand(t, &events.SubmitCommand{}), "no settle before the logins")

	h.Credentials(t, events.TypeCredentialsSynced, createID, app.StepIssueCredentials, false)
	require.Equal(t, events.TypeSettleCommand, h.LastSchedulerCommand(t, &events.SettleCommand{}))
	require.NoError(t, h.Scheduler(t, events.TypeWorkloadSettled, events.WorkloadSettled{WorkloadID: env.ID,
		Saga: ref(createID, "settle", 1, false), At: at}))
	h.Reconcile(t)
	require.Equal(t, domain.StateReady, h.Env(t, env.ID).State)

	before := len(h.Commands(t, "CMD_PROVISIONING"))
	gone, err := h.Svc.Delete(context.Background(), alice, env.ID, "done")
	require.NoError(t, err)
	teardownID := gone.Operation.ID
	cmds := h.Commands(t, "CMD_PROVISIONING")
	require.Len(t, cmds, before+1, "one command: the revocation, alone")
	var revoke events.CredentialsRevokeCommand
	require.NoError(t, json.Unmarshal(cmds[before].Data(), &revoke))
	assert.Equal(t, events.TypeCredentialsRevokeCommand, cmds[before].Type())
	assert.Equal(t, events.CredentialsRevokeCommand{Saga: *ref(teardownID, app.StepRevokeGrants, 1, false), EnvironmentID: env.ID}, revoke)

	h.Credentials(t, events.TypeCredentialsRevoked, teardownID, app.StepRevokeGrants, false)
	typ, _ = h.lastProvisioningCommand(t)
	assert.Equal(t, events.TypeDeprovisionCommand, typ, "the resources go once no login is left")
}

func TestAFailedCredentialSyncCompensatesTheCreate(t *testing.T) {
	h := newHarnessWith(t, app.DefaultStepPolicy())
	env, createID := h.readyWithCredentials(t)

	h.Credentials(t, events.TypeCredentialsFailed, createID, app.StepIssueCredentials, false)

	typ, undo := h.lastProvisioningCommand(t)
	require.Equal(t, events.TypeCredentialsRevokeCommand, typ, "the undo drops whatever was issued")
	assert.Equal(t, true, undo["saga"].(map[string]any)["compensation"])
	h.Credentials(t, events.TypeCredentialsRevoked, createID, app.StepIssueCredentials, true)
	typ, _ = h.lastProvisioningCommand(t)
	assert.Equal(t, events.TypeDeprovisionCommand, typ, "then the resources are compensated")
	assert.Equal(t, saga.StatusCompensating, h.Saga(t, createID).Status)
	assert.Equal(t, env.ID, undo["environment_id"])
}
