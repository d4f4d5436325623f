package app

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/pave-platform/pave/services/provisioning/internal/domain"
)

// ErrNoCredentials means there is no login to hand out: the resource is
// unknown, belongs to another environment, is not live, or has no login.
// The caller cannot tell which, so nothing leaks about other environments.
var ErrNoCredentials = errors.New("no credentials")

// Credentials answers the credentials request. Authorization is the
// caller's (the gateway asks only for callers allowed to see them).
type Credentials struct {
	Ledger Ledger
	Sealer Sealer
}

// Login is a resource's credentials and the team that owns it.
type Login struct {
	Credentials domain.Credentials
	Team        string
}

// Get opens the login of resourceID in environmentID.
func (q Credentials) Get(ctx context.Context, environmentID, resourceID string) (Login, error) {
	rec, err := q.Ledger.Get(ctx, resourceID)
	switch {
	case errors.Is(err, ErrNotFound):
		return Login{}, ErrNoCredentials
	case err != nil:
		return Login{}, fmt.Errorf("read ledger for %s: %w", resourceID, err)
	case rec.EnvironmentID != environmentID || rec.State != domain.StateReady || len(rec.SealedCredentials) == 0:
		return Login{}, ErrNoCredentials
	}
	raw, err := q.Sealer.Open(rec.SealedCredentials, []byte(resourceID))
	if err != nil {
		return Login{}, fmt.Errorf("open credentials of %s: %w", resourceID, err)
	}
	var c domain.Credentials
	if err := json.Unmarshal(raw, &c); err != nil {
		return Login{}, fmt.Errorf("decode credentials of %s: %w", resourceID, err)
	}
	return Login{Credentials: c, Team: rec.Team}, nil
}

// sealCredentials encrypts c for the ledger; nil stays nil.
func sealCredentials(s Sealer, resourceID string, c *domain.Credentials) ([]byte, error) {
	if c == nil {
		return nil, nil
	}
	raw, err := json.Marshal(c)
	if err != nil {
		return nil, fmt.Errorf("encode credentials of %s: %w", resourceID, err)
	}
	sealed, err := s.Seal(raw, []byte(resourceID))
	if err != nil {
		return nil, fmt.Errorf("seal credentials of %s: %w", resourceID, err)
	}
	return sealed, nil
}
