package domain

import (
	"log/slog"
	"slices"
	"time"
)

// State is where a resource is in its life.
type State string

// States of a ledger record.
const (
	StateProvisioning   State = "provisioning"
	StateReady          State = "ready"
	StateDeprovisioning State = "deprovisioning"
	// StateDeleted is a tombstone: kept for the tombstone retention so
	// that a late provision of the same id creates nothing.
	StateDeleted State = "deleted"
)

// Live reports whether real objects may exist in this state.
func (s State) Live() bool { return s != StateDeleted }

// Credentials are a resource's login. They are sealed in the ledger and
// handed out only by the credentials request; they print as [redacted].
type Credentials struct {
	Username string `json:"username"`
	Password string `json:"password"`
	URL      string `json:"url"`
}

// String keeps credentials out of fmt output.
func (Credentials) String() string { return "[redacted]" }

// LogValue keeps credentials out of logs.
func (Credentials) LogValue() slog.Value { return slog.StringValue("[redacted]") }

// Result is what a driver made.
type Result struct {
	// ExternalIDs it created beyond those it planned (e.g. a provisioner's
	// own ids).
	ExternalIDs []string
	// Outputs are connection facts; secret-looking ones are dropped before
	// they reach an event (see PublicOutputs).
	Outputs map[string]string
	// Credentials is nil when the resource has no login, or when an
	// update left the login unchanged.
	Credentials *Credentials
}

// Record is the ledger's entry for one resource id.
type Record struct {
	ResourceID    string            `json:"resource_id"`
	EnvironmentID string            `json:"environment_id"`
	Team          string            `json:"team,omitempty"`
	Name          string            `json:"name,omitempty"`
	Driver        string            `json:"driver"`
	Class         string            `json:"class,omitempty"`
	State         State             `json:"state"`
	ExternalIDs   []string          `json:"external_ids"`
	Outputs       map[string]string `json:"outputs,omitempty"`
	// SealedCredentials is the credentials, encrypted (AES-GCM envelope).
	SealedCredentials []byte `json:"sealed_credentials,omitempty"`
	// DeletedBy and Existed remember the command that tombstoned the
	// record and its answer, so a redelivery answers the same.
	DeletedBy string `json:"deleted_by,omitempty"`
	Existed   bool   `json:"existed,omitempty"`
	// Abandoned says why the resource was written off without its driver
	// (its server declared gone); empty when the driver deleted it.
	Abandoned string `json:"abandoned,omitempty"`
	// ClaimedBy is the command that is creating the objects right now,
	// since ClaimedAt; another command waits for it or for the lease to end.
	ClaimedBy string    `json:"claimed_by,omitempty"`
	ClaimedAt time.Time `json:"claimed_at,omitzero"`
	UpdatedAt time.Time `json:"updated_at"`
	// Revision is the ledger's revision of this record, for compare-and-set.
	Revision uint64 `json:"-"`
}

// NewProvisioning is the record written before a driver creates
// anything: it names every object the driver is about to create.
func NewProvisioning(r Resource, planned []string, now time.Time) Record {
	return Record{
		ResourceID: r.ID, EnvironmentID: r.EnvironmentID, Team: r.Team, Name: r.Name,
		Driver: r.Driver, Class: r.Class, State: StateProvisioning,
		ExternalIDs: slices.Clone(planned), UpdatedAt: now,
	}
}

// NewTombstone records that id was deprovisioned before it was ever
// provisioned (null compensation).
func NewTombstone(id, environmentID, driver, commandID string, now time.Time) Record {
	return Record{
		ResourceID: id, EnvironmentID: environmentID, Driver: driver, State: StateDeleted,
		ExternalIDs: []string{}, DeletedBy: commandID, UpdatedAt: now,
	}
}

// Plan adds the external ids a driver is about to create.
func (r Record) Plan(planned []string) Record {
	r.ExternalIDs = union(r.ExternalIDs, planned)
	return r
}

// Claim marks the record as being worked on by commandID.
func (r Record) Claim(commandID string, now time.Time) Record {
	r.ClaimedBy, r.ClaimedAt, r.UpdatedAt = commandID, now, now
	return r
}

// Release drops the claim.
func (r Record) Release(now time.Time) Record {
	r.ClaimedBy, r.ClaimedAt, r.UpdatedAt = "", time.Time{}, now
	return r
}

// HeldByOther reports whether a command other than commandID holds a
// claim that has not run out.
func (r Record) HeldByOther(commandID string, now time.Time, lease time.Duration) bool {
	return r.ClaimedBy != "" && r.ClaimedBy != commandID && now.Before(r.ClaimedAt.Add(lease))
}

// Ready records what the driver made. sealed replaces the stored
// credentials only when it is not nil.
func (r Record) Ready(res Result, sealed []byte, class string, now time.Time) Record {
	r.State = StateReady
	r.Class = class
	r.ClaimedBy, r.ClaimedAt = "", time.Time{}
	r.ExternalIDs = union(r.ExternalIDs, res.ExternalIDs)
	r.Outputs = PublicOutputs(res.Outputs, res.Credentials)
	if sealed != nil {
		r.SealedCredentials = sealed
	}
	r.UpdatedAt = now
	return r
}

// Deprovisioning marks the start of a deletion.
func (r Record) Deprovisioning(now time.Time) Record {
	r.State = StateDeprovisioning
	r.UpdatedAt = now
	return r
}

// Tombstone marks the resource deleted and forgets its login and outputs.
// The external ids stay, so the sweeper can tell if any object survived.
func (r Record) Tombstone(commandID string, existed bool, now time.Time) Record {
	r.State = StateDeleted
	r.ClaimedBy, r.ClaimedAt = "", time.Time{}
	r.Outputs = nil
	r.SealedCredentials = nil
	r.DeletedBy = commandID
	r.Existed = existed
	r.UpdatedAt = now
	return r
}

// TombstonedBefore reports whether r is a tombstone last written before
// horizon: its retention is over and it may leave the ledger.
func (r Record) TombstonedBefore(horizon time.Time) bool {
	return r.State == StateDeleted && r.UpdatedAt.Before(horizon)
}

// Abandon marks the resource deleted without its driver: its server was
// declared gone. The external ids stay, so that what may survive on the
// server is still known.
func (r Record) Abandon(commandID, note string, now time.Time) Record {
	r = r.Tombstone(commandID, false, now)
	r.Abandoned = note
	return r
}

func union(a, b []string) []string {
	out := slices.Clone(a)
	for _, s := range b {
		if !slices.Contains(out, s) {
			out = append(out, s)
		}
	}
	if out == nil {
		out = []string{}
	}
	return out
}
