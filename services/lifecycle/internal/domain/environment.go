package domain

import (
	"github.com/pave-platform/pave/pkg/events"

	"fmt"
	"maps"
	"slices"
	"time"
)

// Environment is the lifecycle aggregate: one team's instance of a
// template. Its methods never change the receiver: each returns the next
// environment, or the receiver unchanged and an error.
type Environment struct {
	ID         string           `json:"id"`
	Team       string           `json:"team"`
	Name       string           `json:"name"`
	Template   string           `json:"template"`
	Version    string           `json:"version"`
	Stage      Stage            `json:"stage"`
	Parameters ResolvedParams   `json:"parameters"`
	Revision   int              `json:"revision"`
	Revisions  []Revision       `json:"revisions"`
	State      State            `json:"state"`
	Reason     string           `json:"reason,omitempty"`
	Resources  []ResourceStatus `json:"resources"` // in dependency order
	// The lease of an ephemeral environment (all zero when persistent).
	Ephemeral       bool          `json:"ephemeral"`
	TTL             time.Duration `json:"ttl,omitempty"`
	MaxTTL          time.Duration `json:"max_ttl,omitempty"`
	RenewOnActivity bool          `json:"renew_on_activity,omitempty"`
	ExpiresAt       time.Time     `json:"expires_at,omitzero"`
	// Keep suspends expiry of an ephemeral environment.
	Keep      bool       `json:"keep,omitempty"`
	CreatedAt time.Time  `json:"created_at"`
	UpdatedAt time.Time  `json:"updated_at"`
	Operation *Operation `json:"operation,omitempty"`
	// Admission is set when the create queues for the scheduler.
	Admission *Admission `json:"admission,omitempty"`

	// Seq counts the environment's transitions; Outbox holds transition
	// events stored with the state but not yet published.
	Seq    int                              `json:"seq"`
	Outbox []events.EnvironmentTransitioned `json:"outbox,omitempty"`
}

// Revision is one set of parameters the environment was asked to run with.
type Revision struct {
	Number     int            `json:"number"`
	Parameters ResolvedParams `json:"parameters"`
	CreatedAt  time.Time      `json:"created_at"`
	By         string         `json:"by"`
	// Commit is the source commit the revision runs (40-hex), if known.
	Commit string `json:"commit,omitempty"`
	// RolledBack: its update failed and was undone; it never ran.
	RolledBack bool `json:"rolled_back,omitempty"`
}

// WithCommit records the commit of the current revision.
func (e Environment) WithCommit(commit string) Environment {
	i := e.currentIndex()
	if commit == "" || i < 0 {
		return e
	}
	e.Revisions = slices.Clone(e.Revisions)
	e.Revisions[i].Commit = commit
	return e
}

// Commit is the commit of the current revision, if known.
func (e Environment) Commit() string {
	if i := e.currentIndex(); i >= 0 {
		return e.Revisions[i].Commit
	}
	return ""
}

// NextRevision is the number the next update gets: one more than any
// revision made so far, rolled back or not, so that every update has its
// own number (and saga id).
func (e Environment) NextRevision() int {
	n := e.Revision
	for _, r := range e.Revisions {
		n = max(n, r.Number)
	}
	return n + 1
}

// RevisionParameters are the parameters of revision n; false if there is
// no such revision.
func (e Environment) RevisionParameters(n int) (ResolvedParams, bool) {
	if i := e.revisionIndex(n); i >= 0 {
		return e.Revisions[i].Parameters, true
	}
	return nil, false
}

// currentIndex is the index of the revision that runs (or is being
// applied): the newest one unless an update was rolled back.
func (e Environment) currentIndex() int {
	if i := e.revisionIndex(e.Revision); i >= 0 {
		return i
	}
	return len(e.Revisions) - 1
}

func (e Environment) revisionIndex(n int) int {
	return slices.IndexFunc(e.Revisions, func(r Revision) bool { return r.Number == n })
}

// ResourceStatus is what lifecycle knows of one provisioned resource.
// Outputs are non-secret connection facts (host, port, database);
// credentials never travel here.
type ResourceStatus struct {
	Name    string            `json:"name"`
	ID      string            `json:"id"`
	Driver  Driver            `json:"driver"`
	Class   string            `json:"class"`
	State   ResourceState     `json:"state"`
	Outputs map[string]string `json:"outputs,omitempty"`
	// Note says why a resource is in its state when the state alone does
	// not: for an abandoned one, the operator's declaration.
	Note string `json:"note,omitempty"`
}

// ResourceState is a resource's state as provisioning reports it.
type ResourceState string

// Resource states.
const (
	ResourcePending        ResourceState = "pending"
	ResourceProvisioning   ResourceState = "provisioning"
	ResourceReady          ResourceState = "ready"
	ResourceFailed         ResourceState = "failed"
	ResourceDeprovisioning ResourceState = "deprovisioning"
	ResourceDeleted        ResourceState = "deleted"
	// ResourceAbandoned is written off without being deleted: an operator
	// declared its server gone for good. Pave holds nothing of it any more.
	ResourceAbandoned ResourceState = "abandoned"
)

// Operation is the saga currently working on the environment.
type Operation struct {
	ID        string        `json:"id"`
	Kind      OperationKind `json:"kind"`
	StartedAt time.Time     `json:"started_at"`
	// FromRevision is, for an update, the revision running before it:
	// what a rollback returns to.
	FromRevision int `json:"from_revision,omitempty"`
}

// OperationKind names a saga.
type OperationKind string

// Operation kinds.
const (
	OpCreate   OperationKind = "create"
	OpUpdate   OperationKind = "update"
	OpTeardown OperationKind = "teardown"
)

// NewEnvironment starts a validated request as environment id, in state
// requested, revision 1, with the create operation opID. An ephemeral
// environment expires at now + r.TTL.
func NewEnvironment(id string, r EnvironmentRequest, opID, by string, now time.Time) (Environment, error) {
	if !ValidEnvironmentID(id) {
		return Environment{}, fmt.Errorf("new environment: %w: id %q is not like env-abcdefgh2345", ErrInvalid, id)
	}
	lc := r.Template.Lifecycle
	e := Environment{
		ID: id, Team: r.Team, Name: r.Name,
		Template: r.Template.Name, Version: r.Template.Version, Stage: r.Stage,
		Parameters: r.Parameters.Clone(),
		Revision:   1,
		Revisions:  []Revision{{Number: 1, Parameters: r.Parameters.Clone(), CreatedAt: now, By: by}},
		State:      StateRequested,
		Resources:  resourceStatuses(id, r.Resources),
		Ephemeral:  lc.Ephemeral,
		CreatedAt:  now, UpdatedAt: now,
		Operation: &Operation{ID: opID, Kind: OpCreate, StartedAt: now},
	}
	if lc.Ephemeral {
		e.TTL, e.MaxTTL, e.RenewOnActivity = r.TTL, lc.MaxTTL, lc.RenewOnActivity
		e.ExpiresAt = now.Add(r.TTL)
	}
	return e, nil
}

func resourceStatuses(envID string, rs []ResolvedResource) []ResourceStatus {
	out := make([]ResourceStatus, len(rs))
	for i, r := range rs {
		out[i] = ResourceStatus{Name: r.Name, ID: ResourceID(envID, r.Name),
			Driver: r.Driver, Class: r.Class, State: ResourcePending}
	}
	return out
}

// RecordResource stores what provisioning reported for one resource.
func (e Environment) RecordResource(name string, state ResourceState, outputs map[string]string, now time.Time) (Environment, error) {
	i := slices.IndexFunc(e.Resources, func(r ResourceStatus) bool { return r.Name == name })
	if i < 0 {
		return e, fmt.Errorf("environment %s: record %q: %w", e.ID, name, ErrUnknownResource)
	}
	next := e
	next.Resources = slices.Clone(e.Resources)
	next.Resources[i].State = state
	next.Resources[i].Outputs = maps.Clone(outputs)
	next.Resources[i].Note = ""
	next.UpdatedAt = now
	return next, nil
}

// AbandonResource records that the named resource was written off: its
// server was declared gone (note says by whom and why).
func (e Environment) AbandonResource(name, note string, now time.Time) (Environment, error) {
	next, err := e.RecordResource(name, ResourceAbandoned, nil, now)
	if err != nil {
		return e, err
	}
	i := slices.IndexFunc(next.Resources, func(r ResourceStatus) bool { return r.Name == name })
	next.Resources[i].Note = note
	return next, nil
}

// Resource returns the status of the named resource.
func (e Environment) Resource(name string) (ResourceStatus, bool) {
	i := slices.IndexFunc(e.Resources, func(r ResourceStatus) bool { return r.Name == name })
	if i < 0 {
		return ResourceStatus{}, false
	}
	return e.Resources[i], true
}

// HoldsResources reports whether a resource may still exist: one that
// provisioning reported anything but deleted for.
func (e Environment) HoldsResources() bool {
	return slices.ContainsFunc(e.Resources, func(r ResourceStatus) bool {
		return r.State != ResourcePending && r.State != ResourceDeleted && r.State != ResourceAbandoned
	})
}

// NameFree reports whether another environment of the team may take this
// one's name: it is deleted, or failed and holds nothing.
func (e Environment) NameFree() bool {
	return e.State == StateDeleted || (e.State == StateFailed && !e.HoldsResources())
}
