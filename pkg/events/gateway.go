package events

import "time"

// The gateway's events: what Git and CI webhooks reported, and ingress
// events it refused. All on stream EVT_GATEWAY.
const (
	TypeGitPushed          = "dev.pave.gateway.git.pushed.v1"
	TypeCICompleted        = "dev.pave.gateway.ci.completed.v1"
	TypeDeploymentRecorded = "dev.pave.gateway.deployment.recorded.v1"
	TypeIngressRejected    = "dev.pave.gateway.ingress.rejected.v1"
	// TypeWebhookCommand is a verified webhook delivery, stored on
	// CMD_GATEWAY before its sender is answered.
	TypeWebhookCommand = "dev.pave.cmd.gateway.webhook.v1"
)

// Webhook providers.
const (
	ProviderGitHub = "github"
	ProviderGitLab = "gitlab"
	ProviderCI     = "ci"
)

// CI conclusions.
const (
	ConclusionSuccess   = "success"
	ConclusionFailure   = "failure"
	ConclusionCancelled = "cancelled"
	ConclusionSkipped   = "skipped"
	ConclusionOther     = "other"
)

func gatewayTypes() map[string]any {
	return map[string]any{
		TypeGitPushed:          GitPushed{},
		TypeCICompleted:        CICompleted{},
		TypeDeploymentRecorded: DeploymentRecorded{},
		TypeIngressRejected:    IngressRejected{},
		TypeWebhookCommand:     WebhookCommand{},
	}
}

// GitPushed is the data of TypeGitPushed.
type GitPushed struct {
	Provider      string `json:"provider"`
	Repository    string `json:"repository"`
	Team          string `json:"team"`
	Application   string `json:"application"`
	Branch        string `json:"branch"`
	Commit        string `json:"commit"`
	DefaultBranch bool   `json:"default_branch"`
	DeliveryID    string `json:"delivery_id"`
	Sender        string `json:"sender"`
}

// CICompleted is the data of TypeCICompleted.
type CICompleted struct {
	Provider    string `json:"provider"`
	Repository  string `json:"repository"`
	Team        string `json:"team"`
	Application string `json:"application"`
	Commit      string `json:"commit"`
	Conclusion  string `json:"conclusion"`
	Name        string `json:"name"`
	URL         string `json:"url"`
	DeliveryID  string `json:"delivery_id"`
}

// DeploymentRecorded is the data of TypeDeploymentRecorded.
type DeploymentRecorded struct {
	Provider    string `json:"provider"`
	Repository  string `json:"repository"`
	Team        string `json:"team"`
	Application string `json:"application"`
	Commit      string `json:"commit"`
	Environment string `json:"environment"`
	State       string `json:"state"`
	URL         string `json:"url"`
	DeliveryID  string `json:"delivery_id"`
}

// IngressRejected is the data of TypeIngressRejected.
type IngressRejected struct {
	EventID string       `json:"event_id"`
	Source  string       `json:"source"`
	Type    string       `json:"type"`
	Reason  string       `json:"reason"`
	Errors  []FieldIssue `json:"errors"`
}

// FieldIssue names a field and what is wrong with it.
type FieldIssue struct {
	Field   string `json:"field"`
	Message string `json:"message"`
}

// WebhookCommand is the data of TypeWebhookCommand. Body is the
// delivery's raw body (a JSON object) exactly as signed, base64 in JSON.
type WebhookCommand struct {
	Provider   string    `json:"provider"`
	DeliveryID string    `json:"delivery_id"`
	Event      string    `json:"event"`
	Repository string    `json:"repository"`
	ReceivedAt time.Time `json:"received_at"`
	Body       []byte    `json:"body"`
}
