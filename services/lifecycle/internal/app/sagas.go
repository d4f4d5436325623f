package app

import (
	"encoding/json"
	"fmt"
	"slices"
	"time"

	"github.com/pave-platform/pave/pkg/events"
	"github.com/pave-platform/pave/pkg/saga"
	"github.com/pave-platform/pave/services/lifecycle/internal/domain"
)

// Operation kinds, the middle part of a saga id: <env-id>.<kind>.<revision>.
const (
	OpCreate   = "create"
	OpUpdate   = "update"
	OpTeardown = "teardown"
)

// SagaData is the input of every environment saga.
type SagaData struct {
	EnvironmentID string `json:"environment_id"`
	Team          string `json:"team"`
	// Resources are in the order the saga works on them.
	Resources []events.ResourceSpec `json:"resources"`
	// Previous holds, for an update, each resource as it was, by name.
	Previous map[string]events.ResourceSpec `json:"previous,omitempty"`
	// Pool is the scheduler pool the create queues in, RequestedBy the
	// principal that asked for the environment.
	Pool        string `json:"pool,omitempty"`
	RequestedBy string `json:"requested_by,omitempty"`
	// Stage is the environment's stage: grants of scope stage cover it.
	Stage string `json:"stage,omitempty"`
}

// StepPolicy is how long a step may take and how often it is tried.
type StepPolicy struct {
	Timeout           time.Duration
	Retry             saga.RetryPolicy
	CompensationRetry saga.RetryPolicy
	// AdmissionTimeout is how long each attempt of the admit step waits
	// for the scheduler: waiting in the queue is normal.
	AdmissionTimeout time.Duration
	// CostCheck puts the cost service's budget step first in create and
	// update sagas.
	CostCheck bool
	// GrantCredentials adds the grant-login steps: issue credentials in
	// create (before settle) and at the end of update, revoke grants first
	// in teardown.
	GrantCredentials bool
}

// DefaultStepPolicy suits real drivers: provisioning retries transient
// errors itself, so the saga retries a few times more and compensates
// patiently.
func DefaultStepPolicy() StepPolicy {
	return StepPolicy{
		Timeout:           2 * time.Minute,
		Retry:             saga.RetryPolicy{MaxAttempts: 3, Backoff: time.Second, MaxBackoff: 10 * time.Second},
		CompensationRetry: saga.RetryPolicy{MaxAttempts: 6, Backoff: time.Second, MaxBackoff: 30 * time.Second},
		AdmissionTimeout:  30 * time.Minute,
		GrantCredentials:  true,
	}
}

// patient is the retry policy of steps that must not give up quickly:
// teardown steps, which nothing can undo, and settling a provisioned
// environment's admission, which would otherwise undo the whole create.
func (p StepPolicy) patient() saga.RetryPolicy {
	return saga.RetryPolicy{MaxAttempts: 10, Backoff: p.Retry.Backoff, MaxBackoff: 30 * time.Second}
}

// DefinitionName names the saga of an operation on a template version.
func DefinitionName(op string, t domain.Template) string {
	return "environment-" + op + "." + t.Name + "." + t.Version
}

// SagaID names the saga of an operation on an environment revision.
func SagaID(envID, op string, revision int) string {
	return fmt.Sprintf("%s.%s.%d", envID, op, revision)
}

// Definitions builds the create, update and teardown sagas of every
// template version in the catalog: one step per resource.
func Definitions(cat *domain.Catalog, p StepPolicy) []saga.Definition {
	var defs []saga.Definition
	for _, name := range cat.Names() {
		for _, v := range cat.Versions(name) {
			t, err := cat.Get(name, v)
			if err != nil {
				continue
			}
			defs = append(defs, createDefinition(t, p), updateDefinition(t, p), teardownDefinition(t, p))
		}
	}
	return defs
}

// createDefinition is admit, then provision each resource in dependency
// order, then issue the grants' logins, then settle the admission down
// to what a ready environment holds.
func createDefinition(t domain.Template, p StepPolicy) saga.Definition {
	d := saga.Definition{Name: DefinitionName(OpCreate, t)}
	if p.CostCheck {
		d.Steps = append(d.Steps, budgetStep(OpCreate, p))
	}
	d.Steps = append(d.Steps, admitStep(p))
	for _, r := range t.Ordered() {
		d.Steps = append(d.Steps, saga.Step{
			Name: "provision-" + r.Name, Do: provision(r.Name), Undo: deprovision(r.Name),
			Timeout: p.Timeout, Retry: p.Retry, CompensationRetry: p.CompensationRetry,
		})
	}
	if p.GrantCredentials {
		d.Steps = append(d.Steps, issueCredentialsStep(p))
	}
	d.Steps = append(d.Steps, saga.Step{Name: StepSettle, Do: settle, Timeout: p.Timeout, Retry: p.patient()})
	return d
}

func updateDefinition(t domain.Template, p StepPolicy) saga.Definition {
	d := saga.Definition{Name: DefinitionName(OpUpdate, t)}
	if p.CostCheck {
		d.Steps = append(d.Steps, budgetStep(OpUpdate, p))
	}
	for _, r := range t.Ordered() {
		d.Steps = append(d.Steps, saga.Step{
			Name: "update-" + r.Name, Do: update(r.Name), Undo: undoUpdate(r.Name),
			Timeout: p.Timeout, Retry: p.Retry, CompensationRetry: p.CompensationRetry,
		})
	}
	if p.GrantCredentials {
		d.Steps = append(d.Steps, resyncCredentialsStep(p))
	}
	return d
}

// teardownDefinition revokes the grants' logins, sanitizes and
// deprovisions in reverse dependency order, then gives the admission back. Nothing in it can be undone: a
// step that gives up leaves the environment compensation_failed with what
// is left and why.
func teardownDefinition(t domain.Template, p StepPolicy) saga.Definition {
	d := saga.Definition{Name: DefinitionName(OpTeardown, t)}
	ordered := t.Ordered()
	forever := p.patient()
	if p.GrantCredentials {
		d.Steps = append(d.Steps, revokeGrantsStep(p))
	}
	for i := len(ordered) - 1; i >= 0; i-- {
		r := ordered[i]
		if r.Sanitize == domain.SanitizeDrop {
			d.Steps = append(d.Steps, saga.Step{Name: "sanitize-" + r.Name, Do: sanitize(r.Name), Timeout: p.Timeout, Retry: forever})
		}
		d.Steps = append(d.Steps,
			saga.Step{Name: "deprovision-" + r.Name, Do: deprovisionByName(r.Name), Timeout: p.Timeout, Retry: forever})
	}
	d.Steps = append(d.Steps, saga.Step{Name: StepRelease, Do: release, Timeout: p.Timeout, Retry: forever})
	return d
}

func readData(inst saga.Instance) (SagaData, error) {
	var d SagaData
	if err := json.Unmarshal(inst.Data, &d); err != nil {
		return d, fmt.Errorf("saga %s data: %w", inst.ID, err)
	}
	return d, nil
}

func toSaga(r saga.Ref) events.Saga {
	return events.Saga{ID: r.ID, Step: r.Step, Attempt: r.Attempt, Compensation: r.Compensation}
}

func command(typ string, v any) (saga.Command, error) {
	raw, err := json.Marshal(v)
	return saga.Command{Type: typ, Data: raw}, err
}

func provision(name string) func(saga.Instance, saga.Ref) (saga.Command, error) {
	return func(inst saga.Instance, ref saga.Ref) (saga.Command, error) {
		d, r, err := resourceOf(inst, name)
		if err != nil {
			return saga.Command{}, err
		}
		return command(events.TypeProvisionCommand, events.ProvisionCommand{
			Saga: toSaga(ref), EnvironmentID: d.EnvironmentID, Team: d.Team, Resource: r,
		})
	}
}

func deprovision(name string) func(saga.Instance, saga.Ref) (*saga.Command, error) {
	return func(inst saga.Instance, ref saga.Ref) (*saga.Command, error) {
		d, r, err := resourceOf(inst, name)
		if err != nil {
			return nil, err
		}
		c, err := command(events.TypeDeprovisionCommand, events.DeprovisionCommand{
			Saga: toSaga(ref), EnvironmentID: d.EnvironmentID, ResourceID: r.ID, Driver: r.Driver,
		})
		return &c, err
	}
}

func update(name string) func(saga.Instance, saga.Ref) (saga.Command, error) {
	return func(inst saga.Instance, ref saga.Ref) (saga.Command, error) {
		d, r, err := resourceOf(inst, name)
		if err != nil {
			return saga.Command{}, err
		}
		return command(events.TypeUpdateCommand, events.UpdateCommand{
			Saga: toSaga(ref), EnvironmentID: d.EnvironmentID, Team: d.Team, Resource: r,
		})
	}
}

// undoUpdate puts the resource back as it was in the previous revision.
func undoUpdate(name string) func(saga.Instance, saga.Ref) (*saga.Command, error) {
	return func(inst saga.Instance, ref saga.Ref) (*saga.Command, error) {
		d, err := readData(inst)
		if err != nil {
			return nil, err
		}
		prev, ok := d.Previous[name]
		if !ok {
			return nil, nil
		}
		c, err := command(events.TypeUpdateCommand, events.UpdateCommand{
			Saga: toSaga(ref), EnvironmentID: d.EnvironmentID, Team: d.Team, Resource: prev,
		})
		return &c, err
	}
}

// resourceOf reads the saga data and finds the named resource in it.
func resourceOf(inst saga.Instance, name string) (SagaData, events.ResourceSpec, error) {
	d, err := readData(inst)
	if err != nil {
		return d, events.ResourceSpec{}, err
	}
	i := slices.IndexFunc(d.Resources, func(r events.ResourceSpec) bool { return r.Name == name })
	if i < 0 {
		return d, events.ResourceSpec{}, fmt.Errorf("saga %s data has no resource %q", inst.ID, name)
	}
	return d, d.Resources[i], nil
}

func sanitize(name string) func(saga.Instance, saga.Ref) (saga.Command, error) {
	return func(inst saga.Instance, ref saga.Ref) (saga.Command, error) {
		d, r, err := resourceOf(inst, name)
		if err != nil {
			return saga.Command{}, err
		}
		return command(events.TypeSanitizeCommand, events.SanitizeCommand{
			Saga: toSaga(ref), EnvironmentID: d.EnvironmentID, ResourceID: r.ID, Driver: r.Driver,
		})
	}
}

func deprovisionByName(name string) func(saga.Instance, saga.Ref) (saga.Command, error) {
	return func(inst saga.Instance, ref saga.Ref) (saga.Command, error) {
		d, r, err := resourceOf(inst, name)
		if err != nil {
			return saga.Command{}, err
		}
		return command(events.TypeDeprovisionCommand, events.DeprovisionCommand{
			Saga: toSaga(ref), EnvironmentID: d.EnvironmentID, ResourceID: r.ID, Driver: r.Driver,
		})
	}
}
