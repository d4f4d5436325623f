package app

import (
	"go/parser"
	"go/token"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// Issue 14: the app depends on interfaces declared beside it (ports.go),
// never on the concrete adapters, which implement them.
func TestAppImportsNoAdapters(t *testing.T) {
	files, err := filepath.Glob("*.go")
	require.NoError(t, err)
	for _, f := range files {
		if strings.HasSuffix(f, "_test.go") {
			continue
		}
		parsed, err := parser.ParseFile(token.NewFileSet(), f, nil, parser.ImportsOnly)
		require.NoError(t, err)
		for _, imp := range parsed.Imports {
			assert.NotContains(t, imp.Path.Value, "/internal/adapters", "%s imports %s", f, imp.Path.Value)
			assert.NotContains(t, imp.Path.Value, "nats.go/jetstream", "%s imports %s", f, imp.Path.Value)
		}
	}
}
