package events

import "time"

// Commands the provisioning service takes, on pave.cmd.provisioning.<action>.
const (
	TypeProvisionCommand   = "dev.pave.cmd.provisioning.provision.v1"
	TypeUpdateCommand      = "dev.pave.cmd.provisioning.update.v1"
	TypeSanitizeCommand    = "dev.pave.cmd.provisioning.sanitize.v1"
	TypeDeprovisionCommand = "dev.pave.cmd.provisioning.deprovision.v1"
)

// Events the provisioning service publishes, on
// pave.evt.provisioning.resource.<event>. None carries a secret.
const (
	TypeResourceProvisioned   = "dev.pave.provisioning.resource.provisioned.v1"
	TypeResourceUpdated       = "dev.pave.provisioning.resource.updated.v1"
	TypeResourceSanitized     = "dev.pave.provisioning.resource.sanitized.v1"
	TypeResourceDeprovisioned = "dev.pave.provisioning.resource.deprovisioned.v1"
	TypeResourceFailed        = "dev.pave.provisioning.resource.failed.v1"
	TypeResourceOrphaned      = "dev.pave.provisioning.resource.orphaned.v1"
)

// Drivers a resource can name.
const (
	DriverPostgres = "postgres"
	DriverRedis    = "redis"
	DriverNATS     = "nats"
	DriverHTTP     = "http"
	DriverExec     = "exec"
)

// Actions a ResourceFailed names.
const (
	ActionProvision   = "provision"
	ActionUpdate      = "update"
	ActionSanitize    = "sanitize"
	ActionDeprovision = "deprovision"
)

// provisioningTypes are the commands and events of the provisioning service.
func provisioningTypes() map[string]any {
	return map[string]any{
		TypeProvisionCommand:      ProvisionCommand{},
		TypeUpdateCommand:         UpdateCommand{},
		TypeSanitizeCommand:       SanitizeCommand{},
		TypeDeprovisionCommand:    DeprovisionCommand{},
		TypeResourceProvisioned:   ResourceProvisioned{},
		TypeResourceUpdated:       ResourceUpdated{},
		TypeResourceSanitized:     ResourceSanitized{},
		TypeResourceDeprovisioned: ResourceDeprovisioned{},
		TypeResourceFailed:        ResourceFailed{},
		TypeResourceOrphaned:      ResourceOrphaned{},
	}
}

// Saga correlates a command with the saga step that sent it. Every result
// echoes the command's Saga verbatim.
type Saga struct {
	ID   string `json:"id"`
	Step string `json:"step"`
	// Attempt counts the attempts of this step, from 1.
	Attempt      int  `json:"attempt"`
	Compensation bool `json:"compensation"`
}

// ResourceSpec is the resource a provision or update command describes.
type ResourceSpec struct {
	// ID is unique across Pave: 1 to 48 of [a-z0-9-], starting and ending
	// with a letter or digit. It names the real objects.
	ID     string `json:"id"`
	Name   string `json:"name"`
	Driver string `json:"driver"`
	Class  string `json:"class"`
	// Parameters are the driver's; nil means none.
	Parameters map[string]any `json:"parameters,omitempty"`
}

// ProvisionCommand is the data of TypeProvisionCommand.
type ProvisionCommand struct {
	Saga          Saga         `json:"saga"`
	EnvironmentID string       `json:"environment_id"`
	Team          string       `json:"team"`
	Resource      ResourceSpec `json:"resource"`
}

// UpdateCommand is the data of TypeUpdateCommand: the resource with its
// changed class or parameters.
type UpdateCommand ProvisionCommand

// SanitizeCommand is the data of TypeSanitizeCommand.
type SanitizeCommand struct {
	Saga          Saga   `json:"saga"`
	EnvironmentID string `json:"environment_id"`
	ResourceID    string `json:"resource_id"`
	Driver        string `json:"driver"`
}

// DeprovisionCommand is the data of TypeDeprovisionCommand.
type DeprovisionCommand SanitizeCommand

// ResourceProvisioned is the data of TypeResourceProvisioned.
type ResourceProvisioned struct {
	Saga          Saga   `json:"saga"`
	EnvironmentID string `json:"environment_id"`
	ResourceID    string `json:"resource_id"`
	Driver        string `json:"driver"`
	// ExternalIDs name the real objects, as the driver does
	// (database:pave_x); never nil.
	ExternalIDs []string `json:"external_ids"`
	// Outputs are non-secret connection facts; never nil.
	Outputs map[string]string `json:"outputs"`
	// HasCredentials says a login can be fetched with the credentials
	// request; the login itself never travels in an event.
	HasCredentials bool `json:"has_credentials"`
}

// ResourceUpdated is the data of TypeResourceUpdated.
type ResourceUpdated ResourceProvisioned

// ResourceSanitized is the data of TypeResourceSanitized.
type ResourceSanitized struct {
	Saga          Saga   `json:"saga"`
	EnvironmentID string `json:"environment_id"`
	ResourceID    string `json:"resource_id"`
	// Abandoned says why nothing was sanitized: the resource's server was
	// declared gone by an operator.
	Abandoned string `json:"abandoned,omitempty"`
}

// ResourceDeprovisioned is the data of TypeResourceDeprovisioned.
type ResourceDeprovisioned struct {
	Saga          Saga   `json:"saga"`
	EnvironmentID string `json:"environment_id"`
	ResourceID    string `json:"resource_id"`
	// Existed is false for a resource that was never provisioned (null
	// compensation) or was already deleted.
	Existed bool `json:"existed"`
	// Abandoned says why nothing was deleted: the resource's server was
	// declared gone by an operator. The resource is written off.
	Abandoned string `json:"abandoned,omitempty"`
}

// ResourceFailed is the data of TypeResourceFailed.
type ResourceFailed struct {
	Saga          Saga   `json:"saga"`
	EnvironmentID string `json:"environment_id"`
	ResourceID    string `json:"resource_id"`
	// Action is one of the Action constants.
	Action string `json:"action"`
	Reason string `json:"reason"`
	// Retryable is true when the cause was transient and a later attempt
	// may succeed.
	Retryable bool `json:"retryable"`
}

// ResourceOrphaned is the data of TypeResourceOrphaned: a real object with
// Pave's prefix that no live ledger entry accounts for.
type ResourceOrphaned struct {
	Driver     string    `json:"driver"`
	ExternalID string    `json:"external_id"`
	Removed    bool      `json:"removed"`
	DetectedAt time.Time `json:"detected_at"`
}
