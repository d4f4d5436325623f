package domain_test

import (
	"encoding/json"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/pave-platform/pave/services/lifecycle/internal/domain"
)

func TestResolveOrdersResourcesByDependency(t *testing.T) {
	_, resources, err := svcTemplate(t, "1.0.0").Resolve(map[string]any{"service": "shop"})
	require.NoError(t, err)

	var names []string
	placed := map[string]bool{}
	for _, r := range resources {
		for _, dep := range r.DependsOn {
			assert.True(t, placed[dep], "%s comes before its dependency %s", r.Name, dep)
		}
		placed[r.Name] = true
		names = append(names, r.Name)
	}
	// Among resources free to go, declaration order wins.
	assert.Equal(t, []string{"db", "cache", "app", "migrate", "events"}, names)
}

func TestResolveAppliesDefaultsAndSubstitutes(t *testing.T) {
	params, resources, err := svcTemplate(t, "1.0.0").Resolve(map[string]any{"service": "shop", "size": "large"})
	require.NoError(t, err)

	assert.Equal(t, domain.ResolvedParams{
		"service": "shop", "size": "large", "replicas": json.Number("2"),
		"extensions": []any{"pgcrypto"}, "tier": "standard",
	}, params)
	byName := map[string]domain.ResolvedResource{}
	for _, r := range resources {
		byName[r.Name] = r
	}
	assert.Equal(t, domain.ResolvedResource{
		Name: "db", Driver: domain.DriverPostgres, Class: "large", Sanitize: domain.SanitizeDrop,
		Parameters: map[string]any{
			"database":   "shop",
			"extensions": []any{"pgcrypto"}, // a whole-string reference keeps its type
			"labels":     map[string]any{"tier": "standard", "note": `x-["pgcrypto"]`},
		},
	}, byName["db"])
	assert.Equal(t, map[string]any{"url": "https://shop.internal/healthz", "replicas": json.Number("2")},
		byName["app"].Parameters)
	assert.Equal(t, []any{"migrate", "${HOME}"}, byName["migrate"].Parameters["command"],
		"only ${params.…} is substituted")
	assert.Nil(t, byName["events"].Parameters)
}

func TestResolveAcceptsGoValues(t *testing.T) {
	params, _, err := svcTemplate(t, "1.0.0").Resolve(map[string]any{
		"service": "shop", "replicas": 3, "extensions": []string{"postgis"},
	})
	require.NoError(t, err)
	assert.Equal(t, json.Number("3"), params["replicas"])
	assert.Equal(t, []any{"postgis"}, params["extensions"])
}

func TestResolveNamesTheBadParameter(t *testing.T) {
	tests := []struct {
		name string
		give map[string]any
		want []domain.FieldError
	}{
		{"missing required", map[string]any{}, []domain.FieldError{
			{Field: "parameters.service", Message: "required field is missing"}}},
		{"unknown", map[string]any{"service": "shop", "colour": "blue"}, []domain.FieldError{
			{Field: "parameters.colour", Message: "unknown parameter"}}},
		{"not in enum", map[string]any{"service": "shop", "size": "huge"}, []domain.FieldError{
			{Field: "parameters.size", Message: `"huge" is not one of "small", "medium", "large"`}}},
		{"wrong type", map[string]any{"service": "shop", "replicas": "two"}, []domain.FieldError{
			{Field: "parameters.replicas", Message: "got string, want integer"}}},
		{"over maximum", map[string]any{"service": "shop", "replicas": 9}, []domain.FieldError{
			{Field: "parameters.replicas", Message: "maximum: got 9, want 5"}}},
		{"array item", map[string]any{"service": "shop", "extensions": []string{"pgcrypto", "timescale"}}, []domain.FieldError{
			{Field: "parameters.extensions[1]", Message: `"timescale" is not one of "pgcrypto", "postgis"`}}},
		{"class from a parameter", map[string]any{"service": "shop", "size": nil}, []domain.FieldError{
			{Field: "parameters.size", Message: `null is not one of "small", "medium", "large"`}}},
		{"several at once", map[string]any{"colour": "blue", "replicas": 0}, []domain.FieldError{
			{Field: "parameters.colour", Message: "unknown parameter"},
			{Field: "parameters.replicas", Message: "minimum: got 0, want 1"},
			{Field: "parameters.service", Message: "required field is missing"}}},
	}
	tpl := svcTemplate(t, "1.0.0")
	for _, tt := range tests {
		_, _, err := tpl.Resolve(tt.give)
		var verr *domain.ValidationError
		require.ErrorAs(t, err, &verr, tt.name)
		assert.Equal(t, tt.want, verr.Fields, tt.name)
	}
}

func TestResolveRefusesAClassThatIsNotALabel(t *testing.T) {
	tpl := parse(t, `
name: t
version: 1.0.0
description: d
owner: o
cost_class: c
parameters: {type: object, properties: {tier: {type: string, default: small}}}
resources: [{name: db, driver: postgres, class: "${params.tier}"}]
lifecycle: {stages: [dev]}
`)
	_, _, err := tpl.Resolve(map[string]any{"tier": "Very Big"})
	assert.EqualError(t, err, `parameters.tier: "Very Big" is the class of resource "db" and must be a DNS label`)
}

func TestResolveDoesNotShareDefaults(t *testing.T) {
	tpl := svcTemplate(t, "1.0.0")
	params, resources, err := tpl.Resolve(map[string]any{"service": "shop"})
	require.NoError(t, err)
	params["extensions"].([]any)[0] = "changed"
	resources[0].Parameters["extensions"].([]any)[0] = "changed"

	again, _, err := tpl.Resolve(map[string]any{"service": "shop"})
	require.NoError(t, err)
	assert.Equal(t, []any{"pgcrypto"}, again["extensions"])
}
