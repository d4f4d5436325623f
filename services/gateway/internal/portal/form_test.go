package portal

import (
	"encoding/base64"
	"errors"
	"net/url"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/pave-platform/pave/pkg/config"
)

// web-service's parameters, as the template registry answers them.
var webService = map[string]any{
	"type": "object",
	"properties": map[string]any{
		"db_size":        map[string]any{"description": "Database instance class.", "enum": []any{"small", "medium", "large"}, "default": "small"},
		"db_connections": map[string]any{"type": "integer", "minimum": 1.0, "maximum": 10000.0, "default": 20.0},
		"event_retention": map[string]any{"type": "string", "pattern": "^[0-9]+(h|m)$", "default": "72h",
			"description": "How long the stream keeps messages."},
		"public": map[string]any{"type": "boolean", "default": true},
		"ratio":  map[string]any{"type": "number", "minimum": 0.5},
	},
	"required": []any{"ratio"},
}

func TestSchemaFieldsCarryTypesEnumsBoundsAndDefaults(t *testing.T) {
	got := schemaFields(webService)
	want := []field{
		{Name: "parameters.db_connections", Label: "db_connections", Kind: "number", Min: "1", Max: "10000", Step: "1", Value: "20"},
		{Name: "parameters.db_size", Label: "db_size", Kind: "select", Options: []string{"small", "medium", "large"},
			Value: "small", Description: "Database instance class."},
		{Name: "parameters.event_retention", Label: "event_retention", Kind: "text", Pattern: "^[0-9]+(h|m)$", Value: "72h",
			Description: "How long the stream keeps messages."},
		{Name: "parameters.public", Label: "public", Kind: "checkbox", Value: "true"},
		{Name: "parameters.ratio", Label: "ratio", Kind: "number", Min: "0.5", Step: "any", Required: true},
	}
	assert.Equal(t, want, got)
}

func TestParametersReadTheFormByType(t *testing.T) {
	fields := schemaFields(webService)
	tests := []struct {
		name string
		give url.Values
		want map[string]any
	}{
		{"typed values", url.Values{"parameters.db_connections": {"50"}, "parameters.db_size": {"large"},
			"parameters.public": {"true"}, "parameters.ratio": {"0.75"}},
			map[string]any{"db_connections": 50.0, "db_size": "large", "public": true, "ratio": 0.75}},
		{"empty fields leave the default to the API; an unchecked box is false", url.Values{},
			map[string]any{"public": false}},
		{"a number that is not one goes as text, for the API to name", url.Values{"parameters.db_connections": {"many"}},
			map[string]any{"db_connections": "many", "public": false}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			assert.Equal(t, tt.want, parameters(fields, tt.give))
		})
	}
}

func TestConfigValidateNamesTheVariable(t *testing.T) {
	key := base64.StdEncoding.EncodeToString(make([]byte, 32))
	tests := []struct {
		give Config
		want string
	}{
		{Config{SessionTTL: 8 * time.Hour, CookieSecure: "auto"}, ""},
		{Config{SessionKey: key, SessionTTL: time.Hour, CookieSecure: "always"}, ""},
		{Config{SessionKey: "c2hvcnQ=", SessionTTL: time.Hour, CookieSecure: "auto"}, "PAVE_PORTAL_SESSION_KEY"},
		{Config{SessionTTL: time.Second, CookieSecure: "auto"}, "PAVE_PORTAL_SESSION_TTL"},
		{Config{SessionTTL: time.Hour, CookieSecure: "sometimes"}, "PAVE_PORTAL_COOKIE_SECURE"},
	}
	for _, tt := range tests {
		assert.Equal(t, tt.want, invalidVar(tt.give.Validate()), "%+v", tt.give)
	}
}

// invalidVar is the variable a config error names ("" for none).
func invalidVar(err error) string {
	var fe *config.FieldError
	if errors.As(err, &fe) {
		return fe.Var
	}
	return ""
}

func TestSealedCookiesCannotBeReadMovedOrForged(t *testing.T) {
	s, err := newSealer(make([]byte, 32))
	require.NoError(t, err)
	v, err := s.seal(sessionCookie, session{Token: "pave_secret", CSRF: "c"})
	require.NoError(t, err)
	assert.NotContains(t, v, "pave_secret")
	var got session
	require.NoError(t, s.open(sessionCookie, v, &got))
	assert.Equal(t, "pave_secret", got.Token)
	assert.ErrorIs(t, s.open(signinCookie, v, &got), errBadCookie, "bound to its cookie's name")
	other, err := newSealer(append(make([]byte, 31), 1))
	require.NoError(t, err)
	assert.ErrorIs(t, other.open(sessionCookie, v, &got), errBadCookie, "another key")
	assert.ErrorIs(t, s.open(sessionCookie, v[:len(v)-2]+"AA", &got), errBadCookie, "altered")
}
