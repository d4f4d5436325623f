// Package app holds the provisioning service's handlers: one file per
// command, the credentials query and the orphan sweep. The interfaces
// they need are declared here and implemented in adapters.
package app

import (
	"context"
	"errors"
	"log/slog"
	"maps"
	"slices"
	"time"

	"github.com/cloudevents/sdk-go/v2/event"

	"github.com/pave-platform/pave/services/provisioning/internal/domain"
)

// Ledger errors.
var (
	ErrNotFound = errors.New("not in the ledger")
	ErrConflict = errors.New("ledger revision conflict")
)

// Ledger stores one record per resource id, compare-and-set on revision.
type Ledger interface {
	// Get returns ErrNotFound for an id never recorded.
	Get(ctx context.Context, id string) (domain.Record, error)
	// Create returns ErrConflict when the id is already recorded.
	Create(ctx context.Context, r domain.Record) (domain.Record, error)
	// Update returns ErrConflict when r.Revision is not the latest.
	Update(ctx context.Context, r domain.Record) (domain.Record, error)
}

// Driver creates and deletes the real objects of one kind of resource.
// Every method is idempotent by resource id.
type Driver interface {
	// Planned names, without I/O, the external ids Provision will create.
	Planned(resourceID string) []string
	Provision(ctx context.Context, r domain.Resource) (domain.Result, error)
	Update(ctx context.Context, r domain.Resource) (domain.Result, error)
	Sanitize(ctx context.Context, resourceID string) error
	// Deprovision reports whether there was anything to delete.
	Deprovision(ctx context.Context, resourceID string) (existed bool, err error)
	// Inventory lists the external ids of every object carrying Pave's prefix.
	Inventory(ctx context.Context) ([]string, error)
	// Remove deletes one object by external id; absent is fine.
	Remove(ctx context.Context, externalID string) error
}

// Sealer encrypts credentials at rest. aad binds a sealed value to its
// resource, so it cannot be moved to another record.
type Sealer interface {
	Seal(plaintext, aad []byte) ([]byte, error)
	Open(sealed, aad []byte) ([]byte, error)
}

// Publisher publishes an event and waits for the stream's ack.
type Publisher interface {
	Publish(ctx context.Context, e event.Event) error
}

// Drivers are the configured drivers, and the setting that would
// configure each missing one.
type Drivers struct {
	byName   map[string]Driver
	grants   map[string]GrantDriver
	settings map[string]string
	evidence map[string]Evidencer
}

// NewDrivers returns an empty set.
func NewDrivers() *Drivers {
	return &Drivers{byName: map[string]Driver{}, grants: map[string]GrantDriver{}, settings: map[string]string{}}
}

// Add configures driver name. Its calls are traced. A driver that can
// also issue grant logins (GrantDriver) is registered for that too.
func (ds *Drivers) Add(name string, d Driver) *Drivers {
	ds.byName[name] = tracedDriver{name: name, next: d}
	if g, ok := d.(GrantDriver); ok {
		ds.grants[name] = g
	}
	if e, ok := d.(Evidencer); ok {
		if ds.evidence == nil {
			ds.evidence = map[string]Evidencer{}
		}
		ds.evidence[name] = e
	}
	return ds
}

// evidencer is driver name's counting side, nil when it cannot count.
func (ds *Drivers) evidencer(name string) Evidencer { return ds.evidence[name] }

// Grants returns the grant-login side of driver name; ok is false for a
// driver whose resources take no grant logins (nats, http, exec).
func (ds *Drivers) Grants(name string) (GrantDriver, bool) {
	g, ok := ds.grants[name]
	return g, ok
}

// GrantNames lists the drivers that issue grant logins, sorted.
func (ds *Drivers) GrantNames() []string { return slices.Sorted(maps.Keys(ds.grants)) }

// Missing records that driver name is not configured and which setting
// would configure it.
func (ds *Drivers) Missing(name, setting string) *Drivers {
	ds.settings[name] = setting
	return ds
}

// Get returns the driver, or a permanent *domain.NotConfiguredError.
func (ds *Drivers) Get(name string) (Driver, error) {
	if d, ok := ds.byName[name]; ok {
		return d, nil
	}
	return nil, &domain.NotConfiguredError{Driver: name, Setting: ds.settings[name]}
}

// Names lists the configured drivers, sorted.
func (ds *Drivers) Names() []string { return slices.Sorted(maps.Keys(ds.byName)) }

// Deps are what every command handler needs.
type Deps struct {
	Ledger    Ledger
	Drivers   *Drivers
	Sealer    Sealer
	Publisher Publisher
	// Gone tells which drivers' servers an operator declared gone; nil
	// means none.
	Gone GoneLookup
	// MaxDeliver is the consumer's delivery limit: on the last delivery a
	// transient error is answered with a failed event instead of a retry.
	MaxDeliver int
	// Lease bounds how long a provision in progress keeps others out.
	Lease time.Duration
	Log   *slog.Logger
	Now   func() time.Time
	// Receipts, when set, keeps each environment's teardown receipt.
	Receipts Receipts
	// TombstoneRetention is how long the ledger keeps a tombstone (see
	// Tombstones); a provision issued longer ago than it is refused when
	// the ledger does not hold its id. Zero: tombstones are kept for ever.
	TombstoneRetention time.Duration
}

// outlivesTombstones reports whether a command issued at issued is older
// than any tombstone the ledger still keeps.
func (d Deps) outlivesTombstones(issued time.Time) bool {
	return d.TombstoneRetention > 0 && !issued.IsZero() && d.now().Sub(issued) > d.TombstoneRetention
}

func (d Deps) now() time.Time {
	if d.Now == nil {
		return time.Now().UTC()
	}
	return d.Now().UTC()
}

func (d Deps) log() *slog.Logger {
	if d.Log == nil {
		return slog.New(slog.DiscardHandler)
	}
	return d.Log
}

func (d Deps) lease() time.Duration {
	if d.Lease <= 0 {
		return 2 * time.Minute
	}
	return d.Lease
}
