package events_test

import "github.com/pave-platform/pave/pkg/events"

const sampleSHA = "ec26c3e57ca3a959ca5aad62de7213c562f8c821"

// gatewaySamples join samples in allSamples.
var gatewaySamples = map[string]any{
	events.TypeGitPushed: events.GitPushed{Provider: "github", Repository: "Codertocat/Hello-World", Team: "demo",
		Application: "hello-world", Branch: "master", Commit: sampleSHA, DefaultBranch: true, DeliveryID: "d-1", Sender: "Codertocat"},
	events.TypeCICompleted: events.CICompleted{Provider: "github", Repository: "Codertocat/Hello-World", Team: "demo",
		Application: "hello-world", Commit: sampleSHA, Conclusion: "success", Name: "build", URL: "https://ci/1", DeliveryID: "d-2"},
	events.TypeDeploymentRecorded: events.DeploymentRecorded{Provider: "gitlab", Repository: "root/app", Team: "demo",
		Application: "app", Commit: sampleSHA, Environment: "staging", State: "success", URL: "https://gl/1", DeliveryID: "d-3"},
	events.TypeIngressRejected: events.IngressRejected{EventID: "e-1", Source: "ci/builder", Type: "dev.pave.gateway.ci.completed.v1",
		Reason: "data: /commit: required property is missing", Errors: []events.FieldIssue{{Field: "data/commit", Message: "required property is missing"}}},
	events.TypeWebhookCommand: events.WebhookCommand{Provider: "github", DeliveryID: "d-4", Event: "pull_request",
		Repository: "Codertocat/Hello-World", ReceivedAt: at, Body: []byte(`{"action":"opened"}`)},
}
