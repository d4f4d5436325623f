package app

import (
	"context"
	"errors"
	"fmt"
	"slices"

	"github.com/pave-platform/pave/pkg/bus"
	"github.com/pave-platform/pave/pkg/events"
	"github.com/pave-platform/pave/services/provisioning/internal/domain"
)

// Actions a CredentialsFailed names.
const (
	ActionCredentialsSync   = "sync"
	ActionCredentialsRevoke = "revoke"
)

// Sync handles the credentials sync command (the create saga's "issue
// credentials" step): the environment takes grant logins from now on,
// and the logins of its grants are made real. One answer: synced or failed.
func (g *Grants) Sync(ctx context.Context, commandID string, c events.CredentialsSyncCommand) error {
	n, err := g.sync(ctx, c)
	if err != nil {
		return g.fail(ctx, commandID, c.Saga, c.EnvironmentID, ActionCredentialsSync, err)
	}
	return g.answer(ctx, commandID, c.EnvironmentID, events.TypeCredentialsSynced,
		events.CredentialsSynced{Saga: c.Saga, EnvironmentID: c.EnvironmentID, Issued: n})
}

func (g *Grants) sync(ctx context.Context, c events.CredentialsSyncCommand) (int, error) {
	if c.EnvironmentID == "" || c.Team == "" {
		return 0, domain.Permanent(errors.New("credentials sync: environment_id and team are required"))
	}
	t, err := g.activate(ctx, c.EnvironmentID, c.Team, c.Stage, true)
	if err != nil {
		return 0, err
	}
	return g.materialise(ctx, t)
}

// Revoke handles the credentials revoke command (teardown's first step,
// and the undo of a sync): the environment takes no grant logins any
// more, and every one it has is dropped with its sessions. One answer:
// revoked or failed.
func (g *Grants) Revoke(ctx context.Context, commandID string, c events.CredentialsRevokeCommand) error {
	n, err := g.revokeAll(ctx, c.EnvironmentID)
	if err != nil {
		return g.fail(ctx, commandID, c.Saga, c.EnvironmentID, ActionCredentialsRevoke, err)
	}
	return g.answer(ctx, commandID, c.EnvironmentID, events.TypeCredentialsRevoked,
		events.CredentialsRevoked{Saga: c.Saga, EnvironmentID: c.EnvironmentID, Revoked: n})
}

func (g *Grants) revokeAll(ctx context.Context, envID string) (int, error) {
	if envID == "" {
		return 0, domain.Permanent(errors.New("credentials revoke: environment_id is required"))
	}
	if _, err := g.activate(ctx, envID, "", "", false); err != nil {
		return 0, err
	}
	issued, err := g.Store.ListIssued(ctx)
	if err != nil {
		return 0, fmt.Errorf("list issued logins: %w", err)
	}
	issued = slices.DeleteFunc(issued, func(i domain.Issued) bool { return i.EnvironmentID != envID })
	if len(issued) == 0 {
		return 0, nil // nothing to drop: the grants need not be read
	}
	grants, err := g.Store.ListGrants(ctx)
	if err != nil {
		return 0, fmt.Errorf("list grants: %w", err)
	}
	live := map[string]bool{}
	for _, gr := range grants {
		live[gr.GrantID] = gr.Live(g.now())
	}
	// The count is of the logins the teardown ends: those of grants still
	// live. A revoked grant's logins are its revocation's to drop; when
	// that revocation is still under way they are dropped here as well,
	// whichever of the two gets there first, and not counted.
	n := 0
	var errs []error
	for _, i := range issued {
		if i.EnvironmentID != envID {
			continue
		}
		if err := g.drop(ctx, i); err != nil {
			errs = append(errs, err)
			continue
		}
		if live[i.GrantID] {
			n++
		}
	}
	return n, errors.Join(errs...)
}

func (g *Grants) answer(ctx context.Context, commandID, envID, eventType string, data any) error {
	e, err := bus.NewEvent(ResultID(commandID), Source, eventType, data)
	if err != nil {
		return err
	}
	e.SetSubject(envID)
	if err := g.Publisher.Publish(ctx, e); err != nil {
		return fmt.Errorf("answer %s for %s: %w", eventType, envID, err)
	}
	return nil
}

// fail is settle for the credential commands: a transient error before
// the last delivery goes back to the bus; otherwise the saga hears it.
func (g *Grants) fail(ctx context.Context, commandID string, s events.Saga, envID, action string, err error) error {
	permanent := domain.IsPermanent(err)
	if mi, ok := bus.Info(ctx); !permanent && (!ok || g.MaxDeliver <= 0 || mi.Deliveries < uint64(g.MaxDeliver)) {
		return err
	}
	g.log().WarnContext(ctx, "credentials command failed", "action", action, "environment", envID,
		"permanent", permanent, "error", err)
	return g.answer(ctx, commandID, envID, events.TypeCredentialsFailed, events.CredentialsFailed{
		Saga: s, EnvironmentID: envID, Action: action, Reason: reason(err), Retryable: !permanent,
	})
}
