package schema_test

import (
	"encoding/json"
	"io/fs"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/pave-platform/pave/pkg/schema"
	"github.com/pave-platform/pave/schemas"
)

// shippedSchema is the part of a schemas/events file the house rules cover.
type shippedSchema struct {
	Schema               string                     `json:"$schema"`
	ID                   string                     `json:"$id"`
	Title                string                     `json:"title"`
	Description          string                     `json:"description"`
	Type                 string                     `json:"type"`
	AdditionalProperties *bool                      `json:"additionalProperties"`
	Required             []string                   `json:"required"`
	Properties           map[string]json.RawMessage `json:"properties"`
}

// TestShippedSchemasFollowConventions keeps every event schema
// self-describing and closed, so that data a schema does not name is refused
// rather than silently carried.
func TestShippedSchemasFollowConventions(t *testing.T) {
	files, err := fs.Glob(schemas.Events, "events/*.json")
	require.NoError(t, err)
	require.NotEmpty(t, files)
	for _, file := range files {
		typ := strings.TrimSuffix(strings.TrimPrefix(file, "events/"), ".json")
		t.Run(typ, func(t *testing.T) {
			raw, err := fs.ReadFile(schemas.Events, file)
			require.NoError(t, err)
			var s shippedSchema
			require.NoError(t, json.Unmarshal(raw, &s))

			assert.Equal(t, "https://json-schema.org/draft/2020-12/schema", s.Schema)
			assert.Equal(t, schema.SchemaURL(typ), s.ID)
			assert.NotEmpty(t, s.Title, "title")
			assert.NotEmpty(t, s.Description, "description")
			assert.Equal(t, "object", s.Type)
			assert.Equal(t, new(false), s.AdditionalProperties, "additionalProperties must be false")
			for _, name := range s.Required {
				assert.Contains(t, s.Properties, name, "required property is not in properties")
			}
			for name, prop := range s.Properties {
				var p struct{ Description string }
				require.NoError(t, json.Unmarshal(prop, &p))
				assert.NotEmpty(t, p.Description, "property %s has no description", name)
			}
		})
	}
}
