// Package deploytest proves the deployment artefacts without a Docker
// engine or a Kubernetes cluster: it loads docker-compose.yaml with the
// compose-spec loader, lints and renders the Helm chart, executes the
// Tiltfile against stub builtins and checks the Dockerfile's build list.
package deploytest
