package domain_test

import (
	"errors"
	"os"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/pave-platform/pave/services/lifecycle/internal/domain"
)

const appsYAML = `
applications:
  - name: shop
    team: payments
    repository: acme/shop
    stages:
      - {name: dev, environment: shop-dev, gates: {ci: false}}
      - {name: staging, environment: shop-staging, gates: {ci: true}}
      - {name: prod, environment: shop-prod, gates: {ci: true, approvals: 1}}
`

func TestParseApplicationsKeepsStageOrderAndFillsDefaults(t *testing.T) {
	apps, err := domain.ParseApplications("apps.yaml", []byte(appsYAML))
	require.NoError(t, err)
	require.Len(t, apps, 1)
	a := apps[0]
	assert.Equal(t, "acme/shop", a.Repository)
	names := []string{}
	for _, s := range a.Stages {
		names = append(names, s.Name)
	}
	assert.Equal(t, []string{"dev", "staging", "prod"}, names)
	assert.Equal(t, "maintainer", a.Stages[2].Gates.ApproverRole, "approver role defaults to maintainer")
	prev, ok := a.Previous("prod")
	require.True(t, ok)
	assert.Equal(t, "staging", prev.Name)
	_, ok = a.Previous("dev")
	assert.False(t, ok, "the first stage has no previous stage")
	_, ok = a.Previous("nope")
	assert.False(t, ok)
}

func TestParseApplicationsRefusesBadFilesNamingFileAndField(t *testing.T) {
	tests := []struct {
		name, give, want string
	}{
		{"unknown key", "applications:\n  - {name: a, team: t, colour: red, stages: [{name: dev, environment: e}]}\n", "field colour not found"},
		{"unknown gate key", "applications:\n  - {name: a, team: t, stages: [{name: dev, environment: e, gates: {cl: true}}]}\n", "field cl not found"},
		{"empty stages", "applications:\n  - {name: a, team: t, stages: []}\n", "applications[0].stages: at least one stage"},
		{"duplicate stage", "applications:\n  - {name: a, team: t, stages: [{name: dev, environment: e}, {name: dev, environment: f}]}\n", "applications[0].stages[1].name: stage \"dev\" appears twice"},
		{"negative approvals", "applications:\n  - {name: a, team: t, stages: [{name: dev, environment: e, gates: {approvals: -1}}]}\n", "applications[0].stages[0].gates.approvals: must be 0 or more"},
		{"bad role", "applications:\n  - {name: a, team: t, stages: [{name: dev, environment: e, gates: {approver_role: viewer}}]}\n", "gates.approver_role"},
		{"missing environment", "applications:\n  - {name: a, team: t, stages: [{name: dev}]}\n", "applications[0].stages[0].environment: is required"},
		{"bad repository", "applications:\n  - {name: a, team: t, repository: shop, stages: [{name: dev, environment: e}]}\n", "applications[0].repository"},
		{"duplicate application", "applications:\n  - {name: a, team: t, stages: [{name: dev, environment: e}]}\n  - {name: a, team: u, stages: [{name: dev, environment: e}]}\n", "applications[1].name: application \"a\" appears twice"},
		{"not yaml", "applications: [", "apps.yaml"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := domain.ParseApplications("apps.yaml", []byte(tt.give))
			require.Error(t, err)
			assert.Contains(t, err.Error(), tt.want)
			assert.Contains(t, err.Error(), "apps.yaml")
		})
	}
}

func TestApplicationValidateNamesEveryField(t *testing.T) {
	_, err := domain.Application{Name: "Bad Name", Stages: []domain.PipelineStage{{Name: "dev", Gates: domain.Gates{Approvals: -2}}}}.Validate()
	var verr *domain.ValidationError
	require.True(t, errors.As(err, &verr))
	fields := []string{}
	for _, f := range verr.Fields {
		fields = append(fields, f.Field)
	}
	assert.ElementsMatch(t, []string{"name", "team", "stages[0].environment", "stages[0].gates.approvals"}, fields)
}

func TestRoleSatisfies(t *testing.T) {
	tests := []struct {
		have, want string
		ok         bool
	}{
		{"maintainer", "maintainer", true},
		{"admin", "maintainer", true},
		{"developer", "maintainer", false},
		{"developer", "developer", true},
		{"", "developer", false},
		{"viewer", "developer", false},
	}
	for _, tt := range tests {
		assert.Equal(t, tt.ok, domain.RoleSatisfies(tt.have, tt.want), "%s >= %s", tt.have, tt.want)
	}
}

func TestShippedApplicationsFileIsValid(t *testing.T) {
	const file = "../../../../deploy/applications.yaml"
	raw, err := os.ReadFile(file)
	require.NoError(t, err)
	apps, err := domain.ParseApplications(file, raw)
	require.NoError(t, err)
	require.NotEmpty(t, apps)
	assert.Equal(t, "shop", apps[0].Name)
}
