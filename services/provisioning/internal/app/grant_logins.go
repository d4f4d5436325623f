package app

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/pave-platform/pave/services/provisioning/internal/domain"
)

// GrantLogin is one login a principal's grant holds on a resource.
type GrantLogin struct {
	GrantID     string
	ResourceID  string
	Driver      string
	ExpiresAt   time.Time
	Credentials domain.Credentials
}

// Mine lists the logins principal's live grants hold on the resources of
// environmentID, opened. Nobody else's are ever returned.
func (g *Grants) Mine(ctx context.Context, principal, environmentID string) ([]GrantLogin, error) {
	issued, err := g.Store.ListIssued(ctx)
	if err != nil {
		return nil, fmt.Errorf("list issued logins: %w", err)
	}
	now := g.now()
	var out []GrantLogin
	for _, i := range issued {
		if i.Principal != principal || i.EnvironmentID != environmentID || len(i.SealedCredentials) == 0 || !now.Before(i.ExpiresAt) {
			continue
		}
		// A revoked grant's login is no more the moment the revocation is
		// recorded, even while it is still being dropped.
		if gr, err := g.Store.GetGrant(ctx, i.GrantID); err != nil || !gr.Live(now) {
			continue
		}
		raw, err := g.Sealer.Open(i.SealedCredentials, []byte(i.Name))
		if err != nil {
			return nil, fmt.Errorf("open login %s: %w", i.Name, err)
		}
		var c domain.Credentials
		if err := json.Unmarshal(raw, &c); err != nil {
			return nil, fmt.Errorf("decode login %s: %w", i.Name, err)
		}
		out = append(out, GrantLogin{GrantID: i.GrantID, ResourceID: i.ResourceID, Driver: i.Driver,
			ExpiresAt: i.ExpiresAt, Credentials: c})
	}
	slices.SortFunc(out, func(a, b GrantLogin) int {
		return strings.Compare(a.GrantID+"/"+a.ResourceID, b.GrantID+"/"+b.ResourceID)
	})
	return out, nil
}
