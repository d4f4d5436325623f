package app

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"

	"github.com/cloudevents/sdk-go/v2/event"

	"github.com/pave-platform/pave/pkg/bus"
	"github.com/pave-platform/pave/pkg/events"
	"github.com/pave-platform/pave/pkg/saga"
)

// Steps of the environment sagas that turn grants into logins on the
// environment's resources, and take them away again. Provisioning holds
// the desired grants (from access's grant events) and the logins; these
// steps tell it when an environment starts and stops taking them.
const (
	StepIssueCredentials = "issue-credentials"
	StepRevokeGrants     = "revoke-grants"
)

// issueCredentialsStep makes the grants on the environment real logins
// (a PostgreSQL role, a Redis ACL user per grant and resource) once its
// resources are provisioned. In a create its undo drops them again.
func issueCredentialsStep(p StepPolicy) saga.Step {
	return saga.Step{Name: StepIssueCredentials, Do: syncCredentials, Undo: undoCredentials,
		Timeout: p.Timeout, Retry: p.Retry, CompensationRetry: p.CompensationRetry}
}

// resyncCredentialsStep ends an update: a resource the update added gets
// the grants' logins, a removed one loses them. It has no undo: a rolled
// back update leaves a live environment, whose logins stay.
func resyncCredentialsStep(p StepPolicy) saga.Step {
	return saga.Step{Name: StepIssueCredentials, Do: syncCredentials, Timeout: p.Timeout, Retry: p.Retry}
}

// revokeGrantsStep is teardown's first step: no login outlives the
// environment's last moment of use. It cannot be undone.
func revokeGrantsStep(p StepPolicy) saga.Step {
	return saga.Step{Name: StepRevokeGrants, Do: revokeCredentials, Timeout: p.Timeout, Retry: p.patient()}
}

func syncCredentials(inst saga.Instance, ref saga.Ref) (saga.Command, error) {
	d, err := readData(inst)
	if err != nil {
		return saga.Command{}, err
	}
	return command(events.TypeCredentialsSyncCommand, events.CredentialsSyncCommand{
		Saga: toSaga(ref), EnvironmentID: d.EnvironmentID, Team: d.Team, Stage: d.Stage,
	})
}

func revokeCredentials(inst saga.Instance, ref saga.Ref) (saga.Command, error) {
	d, err := readData(inst)
	if err != nil {
		return saga.Command{}, err
	}
	return command(events.TypeCredentialsRevokeCommand, events.CredentialsRevokeCommand{
		Saga: toSaga(ref), EnvironmentID: d.EnvironmentID,
	})
}

func undoCredentials(inst saga.Instance, ref saga.Ref) (*saga.Command, error) {
	c, err := revokeCredentials(inst, ref)
	return &c, err
}

// HandleCredentialsResult delivers provisioning's answer to a credentials
// step: synced or revoked goes on, failed fails the step (retried as its
// policy says when the cause was transient).
func (s *Service) HandleCredentialsResult(d SagaDeliverer) bus.Handler {
	return func(ctx context.Context, e event.Event) error {
		var r events.CredentialsFailed
		if err := json.Unmarshal(e.Data(), &r); err != nil {
			return bus.Permanent(fmt.Errorf("credentials result %s: %w", e.ID(), err))
		}
		if _, _, ok := parseSagaID(r.Saga.ID); !ok {
			return nil // not an environment saga's answer
		}
		ref := fromSaga(r.Saga)
		var in saga.Input = saga.StepSucceeded{Ref: ref}
		if e.Type() == events.TypeCredentialsFailed {
			in = saga.StepFailed{Ref: ref, Reason: strings.TrimSpace(r.Reason), Retryable: r.Retryable}
		}
		return deliver(ctx, d, in, ref)
	}
}
