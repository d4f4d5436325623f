package app

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/pave-platform/pave/services/provisioning/internal/domain"
)

// GoneLookup answers whether the server behind a driver has been declared
// gone. The command handlers ask it before they call a driver to undo.
type GoneLookup interface {
	Declared(ctx context.Context, driver string) (domain.GoneServer, bool, error)
}

// GoneStore keeps the operators' declarations, one per driver.
type GoneStore interface {
	GoneLookup
	Put(ctx context.Context, g domain.GoneServer) error
	Remove(ctx context.Context, driver string) error
	List(ctx context.Context) ([]domain.GoneServer, error)
}

// ErrUnknownDriver is a declaration for a driver provisioning does not know.
var ErrUnknownDriver = errors.New("unknown driver")

// ServerState is one driver's server as operators see it.
type ServerState struct {
	Driver     string             `json:"driver"`
	Configured bool               `json:"configured"`
	Gone       *domain.GoneServer `json:"gone,omitempty"`
}

// Servers lets an operator declare a driver's server gone for good, and
// take the declaration back.
type Servers struct {
	Store   GoneStore
	Drivers *Drivers
	Now     func() time.Time
}

// Known lists every driver name provisioning knows (configured or not).
func (s *Servers) known() []string {
	names := s.Drivers.Names()
	for n := range s.Drivers.settings {
		if !slices.Contains(names, n) {
			names = append(names, n)
		}
	}
	slices.Sort(names)
	return names
}

// DeclareGone records that driver's server is gone, by whom and why.
// Resources on it still waiting for an undo are abandoned from now on.
func (s *Servers) DeclareGone(ctx context.Context, driver, by, reason string) (domain.GoneServer, error) {
	if !slices.Contains(s.known(), driver) {
		return domain.GoneServer{}, fmt.Errorf("%w %q (known: %s)", ErrUnknownDriver, driver, strings.Join(s.known(), ", "))
	}
	now := time.Now().UTC()
	if s.Now != nil {
		now = s.Now().UTC()
	}
	g, err := domain.NewGoneServer(driver, by, reason, now)
	if err != nil {
		return domain.GoneServer{}, err
	}
	if err := s.Store.Put(ctx, g); err != nil {
		return domain.GoneServer{}, fmt.Errorf("declare %s gone: %w", driver, err)
	}
	return g, nil
}

// Restore takes a declaration back (the server came back after all).
// Resources already abandoned stay abandoned; the sweeper finds what is
// left of them on the server.
func (s *Servers) Restore(ctx context.Context, driver string) error {
	if !slices.Contains(s.known(), driver) {
		return fmt.Errorf("%w %q", ErrUnknownDriver, driver)
	}
	return s.Store.Remove(ctx, driver)
}

// List gives every known driver's server with its declaration, if any.
func (s *Servers) List(ctx context.Context) ([]ServerState, error) {
	gone, err := s.Store.List(ctx)
	if err != nil {
		return nil, fmt.Errorf("list declarations: %w", err)
	}
	out := make([]ServerState, 0, len(s.known()))
	for _, n := range s.known() {
		st := ServerState{Driver: n}
		_, st.Configured = s.Drivers.byName[n]
		if i := slices.IndexFunc(gone, func(g domain.GoneServer) bool { return g.Driver == n }); i >= 0 {
			g := gone[i]
			st.Gone = &g
		}
		out = append(out, st)
	}
	return out, nil
}

// declaredGone asks d's lookup; no lookup means nothing is declared.
func (d Deps) declaredGone(ctx context.Context, driver string) (domain.GoneServer, bool, error) {
	if d.Gone == nil {
		return domain.GoneServer{}, false, nil
	}
	g, ok, err := d.Gone.Declared(ctx, driver)
	if err != nil {
		return g, false, fmt.Errorf("read whether server %s is declared gone: %w", driver, err)
	}
	return g, ok, nil
}
