package ports

import (
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/pb33f/libopenapi"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/pave-platform/pave/services/gateway/internal/automate"
)

// handledRoute finds the routes API registers by hand in this package.
var handledRoute = regexp.MustCompile(`mux\.Handle(?:Func)?\("([^"]+)"`)

// servedRoutes are every route pattern the gateway registers, as
// "METHOD /path", except the catch-alls that answer 404.
func servedRoutes(t *testing.T) []string {
	t.Helper()
	var out []string
	for _, rt := range slices.Concat(routeGroups...) {
		out = append(out, rt.pattern)
	}
	// This package's handlers, and the webhook receivers the gateway
	// serves next to the API.
	files, err := filepath.Glob("*.go")
	require.NoError(t, err)
	receivers, err := filepath.Glob("../webhooks/*.go")
	require.NoError(t, err)
	files = append(files, receivers...)
	for _, f := range files {
		if strings.HasSuffix(f, "_test.go") {
			continue
		}
		raw, err := os.ReadFile(f)
		require.NoError(t, err)
		for _, m := range handledRoute.FindAllStringSubmatch(string(raw), -1) {
			if strings.Contains(m[1], " ") {
				out = append(out, m[1])
			}
		}
	}
	for _, p := range automate.IncidentProviders {
		out = append(out, "POST "+automate.IncidentHooksPattern+p)
	}
	return out
}

// specOperations are the spec's /v1 operations as "METHOD /path".
func specOperations(t *testing.T) []string {
	t.Helper()
	raw, err := os.ReadFile("../../../../schemas/openapi.yaml")
	require.NoError(t, err)
	doc, err := libopenapi.NewDocument(raw)
	require.NoError(t, err)
	m, err := doc.BuildV3Model()
	require.NoError(t, err)
	var out []string
	for path, item := range m.Model.Paths.PathItems.FromOldest() {
		if !strings.HasPrefix(path, "/v1/") {
			continue
		}
		for method := range item.GetOperations().FromOldest() {
			out = append(out, strings.ToUpper(method)+" "+path)
		}
	}
	return out
}

// The spec describes exactly the routes the gateway serves: a route
// added without its operation, or an operation left after its route
// went, fails here.
func TestEveryRouteIsInTheOpenAPISpecAndBack(t *testing.T) {
	served := servedRoutes(t)
	spec := specOperations(t)
	require.Greater(t, len(spec), 40)
	var undocumented, unserved []string
	for _, r := range served {
		if !slices.Contains(spec, r) {
			undocumented = append(undocumented, r)
		}
	}
	for _, o := range spec {
		if !slices.Contains(served, o) {
			unserved = append(unserved, o)
		}
	}
	assert.Empty(t, undocumented, "routes with no operation in schemas/openapi.yaml")
	assert.Empty(t, unserved, "operations in schemas/openapi.yaml that the gateway does not serve")
}
