package domain_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/pave-platform/pave/services/lifecycle/internal/domain"
)

// svcYAML is a persistent template whose resources are declared out of
// dependency order.
const svcYAML = `
name: svc
version: %s
description: A service with a database, a cache and a stream.
owner: platform
cost_class: service
parameters:
  type: object
  required: [service]
  properties:
    service: {type: string, pattern: "^[a-z]+$"}
    size: {enum: [small, medium, large], default: small}
    replicas: {type: integer, minimum: 1, maximum: 5, default: 2}
    extensions: {type: array, items: {enum: [pgcrypto, postgis]}, default: [pgcrypto]}
    tier: {type: string, default: standard}
resources:
  - name: app
    driver: http
    class: small
    depends_on: [db, cache]
    parameters:
      url: "https://${params.service}.internal/healthz"
      replicas: "${params.replicas}"
  - name: db
    driver: postgres
    class: "${params.size}"
    parameters:
      database: "${params.service}"
      extensions: "${params.extensions}"
      labels: {tier: "${params.tier}", note: "x-${params.extensions}"}
  - {name: cache, driver: redis, class: small}
  - {name: migrate, driver: exec, class: small, depends_on: [db], parameters: {command: [migrate, "${HOME}"]}}
  - {name: events, driver: nats, class: small}
lifecycle: {stages: [dev, staging, prod]}
`

// pvYAML is an ephemeral template: 4h by default, at most 24h.
const pvYAML = `
name: pv
version: 1.0.0
description: A preview.
owner: platform
cost_class: preview
parameters:
  type: object
  properties:
    branch: {type: string, default: main}
resources:
  - {name: db, driver: postgres, class: small, parameters: {branch: "${params.branch}"}}
lifecycle: {stages: [preview], ephemeral: true, default_ttl: 4h, max_ttl: 24h, renew_on_activity: true}
`

var t0 = time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC)

func parse(t *testing.T, yaml string) domain.Template {
	t.Helper()
	tpl, err := domain.ParseTemplate("test.yaml", []byte(yaml))
	require.NoError(t, err)
	return tpl
}

func svcTemplate(t *testing.T, version string) domain.Template {
	t.Helper()
	return parse(t, fmt.Sprintf(svcYAML, version))
}

func testCatalog(t *testing.T) *domain.Catalog {
	t.Helper()
	cat, err := domain.NewCatalog(svcTemplate(t, "1.0.0"), svcTemplate(t, "1.1.0"),
		svcTemplate(t, "2.0.0-rc.1"), parse(t, pvYAML))
	require.NoError(t, err)
	return cat
}

// newEnv creates an environment of template name through the public path.
func newEnv(t *testing.T, name string, params map[string]any) domain.Environment {
	t.Helper()
	stage := domain.StageDev
	if name == "pv" {
		stage = ""
	}
	req, err := domain.NewEnvironmentRequest(testCatalog(t), domain.CreateRequest{
		Team: "payments", Name: "checkout", Template: name, Stage: stage, Parameters: params,
	})
	require.NoError(t, err)
	env, err := domain.NewEnvironment("env-abcdefgh2345", req, "op-1", "alice", t0)
	require.NoError(t, err)
	return env
}
