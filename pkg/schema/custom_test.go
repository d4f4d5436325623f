package schema

import (
	"errors"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestCompileValidatesLikeTheRegistry(t *testing.T) {
	s, err := Compile("pave.custom.acme.build.done.v1", []byte(`{"type":"object","required":["branch"],"properties":{"branch":{"type":"string"}}}`))
	require.NoError(t, err)
	assert.NoError(t, s.Validate([]byte(`{"branch":"main"}`)))
	var verr *ValidationError
	require.ErrorAs(t, s.Validate([]byte(`{"branch":7}`)), &verr)
	assert.Equal(t, "/branch", verr.Problems[0].Field)
}

func TestCompileRefusesBadSchemas(t *testing.T) {
	for _, raw := range []string{`{`, `[1]`, `{"type":5}`, `{"$ref":"https://example.com/x.json"}`} {
		_, err := Compile("x", []byte(raw))
		assert.True(t, errors.Is(err, ErrBadSchema), "%s: %v", raw, err)
	}
}
