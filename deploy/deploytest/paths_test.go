package deploytest

import (
	"os"
	"path/filepath"
	"runtime"
	"testing"

	"github.com/stretchr/testify/require"
)

// services are the Pave service binaries, services/<name>/cmd/<name>.
var services = []string{"access", "cost", "gateway", "lifecycle", "provisioning", "scheduler"}

// repoRoot is the repository root: two levels above this module.
func repoRoot(t *testing.T) string {
	t.Helper()
	_, file, _, ok := runtime.Caller(0)
	require.True(t, ok)
	root := filepath.Clean(filepath.Join(filepath.Dir(file), "..", ".."))
	_, err := os.Stat(filepath.Join(root, "go.work"))
	require.NoError(t, err, "repository root with go.work not found at %s", root)
	return root
}

func readFile(t *testing.T, rel string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(repoRoot(t), rel))
	require.NoError(t, err)
	return string(b)
}
