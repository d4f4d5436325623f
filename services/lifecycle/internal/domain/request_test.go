package domain_test

import (
	"bytes"
	"crypto/rand"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/pave-platform/pave/services/lifecycle/internal/domain"
)

func TestNewEnvironmentRequestNamesEveryBadField(t *testing.T) {
	ok := domain.CreateRequest{Team: "payments", Name: "checkout", Template: "svc", Stage: domain.StageDev,
		Parameters: map[string]any{"service": "shop"}}
	with := func(change func(*domain.CreateRequest)) domain.CreateRequest {
		r := ok
		change(&r)
		return r
	}
	fe := func(field, msg string) []domain.FieldError { return []domain.FieldError{{Field: field, Message: msg}} }
	tests := []struct {
		name string
		give domain.CreateRequest
		want []domain.FieldError
	}{
		{"no team", with(func(r *domain.CreateRequest) { r.Team = "" }), fe("team", "required")},
		{"bad team", with(func(r *domain.CreateRequest) { r.Team = "Payments" }),
			fe("team", `"Payments" is not a DNS label (lowercase letters, digits and '-', starting with a letter)`)},
		{"no name", with(func(r *domain.CreateRequest) { r.Name = "" }), fe("name", "required")},
		{"bad name", with(func(r *domain.CreateRequest) { r.Name = "check_out" }),
			fe("name", `"check_out" is not a DNS label (lowercase letters, digits and '-', starting with a letter)`)},
		{"name ends in dash", with(func(r *domain.CreateRequest) { r.Name = "checkout-" }),
			fe("name", `"checkout-" is not a DNS label (lowercase letters, digits and '-', starting with a letter)`)},
		{"long name", with(func(r *domain.CreateRequest) { r.Name = strings.Repeat("a", 41) }),
			fe("name", `"`+strings.Repeat("a", 41)+`" is longer than 40 characters`)},
		{"no template", with(func(r *domain.CreateRequest) { r.Template = "" }), fe("template", "required")},
		{"unknown template", with(func(r *domain.CreateRequest) { r.Template = "mysql" }), fe("template", `unknown template "mysql"`)},
		{"unknown version", with(func(r *domain.CreateRequest) { r.Version = "9.9.9" }),
			fe("version", `unknown version "9.9.9" of template "svc" (known: 1.0.0, 1.1.0, 2.0.0-rc.1)`)},
		{"no stage", with(func(r *domain.CreateRequest) { r.Stage = "" }),
			fe("stage", "required (template svc allows dev, staging, prod)")},
		{"not a stage", with(func(r *domain.CreateRequest) { r.Stage = "qa" }),
			fe("stage", `"qa" is not a stage (dev, test, staging, prod, preview)`)},
		{"stage not allowed", with(func(r *domain.CreateRequest) { r.Stage = domain.StagePreview }),
			fe("stage", "template svc does not allow stage preview (allowed: dev, staging, prod)")},
		{"ttl on a persistent template", with(func(r *domain.CreateRequest) { r.TTL = time.Hour }),
			fe("ttl", "template svc is persistent: it takes no ttl")},
		{"ttl over max", domain.CreateRequest{Team: "a", Name: "b", Template: "pv", TTL: 25 * time.Hour},
			fe("ttl", "25h0m0s is over the template's max_ttl 24h0m0s")},
		{"negative ttl", domain.CreateRequest{Team: "a", Name: "b", Template: "pv", TTL: -time.Hour},
			fe("ttl", "-1h0m0s is not positive")},
		{"bad parameter", with(func(r *domain.CreateRequest) { r.Parameters = map[string]any{"service": "Shop"} }),
			fe("parameters.service", `"Shop" does not match ^[a-z]+$`)},
		{"missing parameter", with(func(r *domain.CreateRequest) { r.Parameters = nil }),
			fe("parameters.service", "required field is missing")},
		{"everything at once", domain.CreateRequest{Name: "X", Template: "pv", Stage: "prod", TTL: 48 * time.Hour,
			Parameters: map[string]any{"branch": 7}}, []domain.FieldError{
			{Field: "team", Message: "required"},
			{Field: "name", Message: `"X" is not a DNS label (lowercase letters, digits and '-', starting with a letter)`},
			{Field: "stage", Message: "template pv does not allow stage prod (allowed: preview)"},
			{Field: "ttl", Message: "48h0m0s is over the template's max_ttl 24h0m0s"},
			{Field: "parameters.branch", Message: "got number, want string"},
		}},
	}
	cat := testCatalog(t)
	for _, tt := range tests {
		_, err := domain.NewEnvironmentRequest(cat, tt.give)
		var verr *domain.ValidationError
		require.ErrorAs(t, err, &verr, tt.name)
		assert.ErrorIs(t, err, domain.ErrInvalid, tt.name)
		assert.Equal(t, tt.want, verr.Fields, tt.name)
	}
}

func TestNewEnvironmentRequestResolves(t *testing.T) {
	cat := testCatalog(t)
	tests := []struct {
		name        string
		give        domain.CreateRequest
		wantVersion string
		wantStage   domain.Stage
		wantTTL     time.Duration
	}{
		{"latest release", domain.CreateRequest{Team: "a", Name: "b", Template: "svc", Stage: "prod",
			Parameters: map[string]any{"service": "shop"}}, "1.1.0", domain.StageProd, 0},
		{"pinned pre-release", domain.CreateRequest{Team: "a", Name: "b", Template: "svc", Version: "2.0.0-rc.1",
			Stage: "dev", Parameters: map[string]any{"service": "shop"}}, "2.0.0-rc.1", domain.StageDev, 0},
		{"only stage and default ttl", domain.CreateRequest{Team: "a", Name: "b", Template: "pv"},
			"1.0.0", domain.StagePreview, 4 * time.Hour},
		{"ttl up to max", domain.CreateRequest{Team: "a", Name: "b", Template: "pv", TTL: 24 * time.Hour},
			"1.0.0", domain.StagePreview, 24 * time.Hour},
	}
	for _, tt := range tests {
		got, err := domain.NewEnvironmentRequest(cat, tt.give)
		require.NoError(t, err, tt.name)
		assert.Equal(t, tt.wantVersion, got.Template.Version, tt.name)
		assert.Equal(t, tt.wantStage, got.Stage, tt.name)
		assert.Equal(t, tt.wantTTL, got.TTL, tt.name)
		assert.NotEmpty(t, got.Resources, tt.name)
	}
}

func TestEnvironmentIDs(t *testing.T) {
	id, err := domain.NewEnvironmentID(bytes.NewReader(make([]byte, 8)))
	require.NoError(t, err)
	assert.Equal(t, "env-aaaaaaaaaaaa", id)

	a, err := domain.NewEnvironmentID(rand.Reader)
	require.NoError(t, err)
	b, err := domain.NewEnvironmentID(rand.Reader)
	require.NoError(t, err)
	assert.NotEqual(t, a, b)
	assert.True(t, domain.ValidEnvironmentID(a), a)
	assert.Regexp(t, `^env-[a-z2-7]{12}$`, a)

	_, err = domain.NewEnvironmentID(bytes.NewReader([]byte{1, 2}))
	assert.Error(t, err, "short entropy")

	for _, bad := range []string{"", "env-", "env-ABCDEFGH2345", "env-abcdefgh23451", "xyz-abcdefgh2345"} {
		assert.False(t, domain.ValidEnvironmentID(bad), bad)
	}
	assert.Equal(t, "env-abcdefgh2345-db", domain.ResourceID("env-abcdefgh2345", "db"))
}
