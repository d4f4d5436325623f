package deploytest

import (
	"errors"
	"go/parser"
	"go/token"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

const modulePrefix = "github.com/pave-platform/pave/"

// composers may import several services: they run the platform whole.
// Everything else under services/X talks to services/Y by events and rpc
// only (the contracts live in pkg and schemas).
var composers = map[string]string{
	"cmd/pave/":           "the pave command composes every service into one process (pave dev, its tests)",
	"bench/accessbench/":  "runs the access service whole through its public Module (as pave dev does) and asks it on rpc.Authorize",
	"bench/webhookbench/": "runs the gateway whole through its public Module (as pave dev does) and posts signed webhooks to it",
	"bench/kueuebench/":   "runs the scheduler and its runners whole (scheduler.New, runner.New) and replays the Kueue trace through their commands",
	"services/gateway/internal/portal/platform_test.go":  "the portal's browser journey runs the whole platform, as cmd/pave does",
	"services/gateway/internal/ports/auditreads_test.go": "records into the real audit ledger and reads it back, to check what the read counter appended",
	"services/gateway/internal/notify/rig_test.go":       "the notify test rig decides its API calls with the real audit ledger as recorder, as the gateway does through access",
}

// Services talk only by events and rpc: no file under services/X
// imports a package of services/Y, and no production package imports a
// benchmark tool (a package with "bench" in a path element, or under
// bench/). Imports are read with go/parser, so comments and strings
// do not count.
func TestServicesImportNoOtherServiceAndProductionNoBenchmark(t *testing.T) {
	root := repoRoot(t)
	var offenders []string
	fset := token.NewFileSet()
	walkGo(t, root, []string{"services", "cmd", "pkg", "bench"}, true, func(rel, path string) error {
		f, err := parser.ParseFile(fset, path, nil, parser.ImportsOnly)
		if err != nil {
			return err
		}
		for _, spec := range f.Imports {
			imp, _ := strconv.Unquote(spec.Path.Value)
			if why := forbidden(rel, imp); why != "" && !composes(rel) {
				offenders = append(offenders, rel+" imports "+imp+": "+why)
			}
		}
		return nil
	})
	sort.Strings(offenders)
	assert.Empty(t, offenders, "talk to another service through pkg contracts (events, rpc), and keep benchmarks out of production packages")
}

// forbidden says why file rel may not import imp ("" when it may).
func forbidden(rel, imp string) string {
	target, ok := strings.CutPrefix(imp, modulePrefix)
	if !ok {
		return ""
	}
	if from, to := serviceOf(rel), serviceOf(target+"/"); to != "" && from != to {
		return "a service's package, imported from outside it"
	}
	if isBench(target) && !isBench(filepath.ToSlash(filepath.Dir(rel))) {
		return "a benchmark tool, imported by a production package"
	}
	return ""
}

// serviceOf is "services/X" for a path under it, "" otherwise.
func serviceOf(p string) string {
	parts := strings.SplitN(p, "/", 3)
	if len(parts) < 3 || parts[0] != "services" {
		return ""
	}
	return "services/" + parts[1]
}

// isBench reports whether a package path is a benchmark tool.
func isBench(pkg string) bool {
	for i, el := range strings.Split(pkg, "/") {
		if strings.Contains(el, "bench") || (i == 0 && el == "bench") {
			return true
		}
	}
	return false
}

func composes(rel string) bool {
	for prefix := range composers {
		if rel == prefix || (strings.HasSuffix(prefix, "/") && strings.HasPrefix(rel, prefix)) {
			return true
		}
	}
	return false
}

// The rule itself: each case is a file and an import it makes.
func TestImportRuleSaysWhatItForbids(t *testing.T) {
	for _, tt := range []struct {
		file, imp string
		forbidden bool
	}{
		{"services/gateway/gateway.go", modulePrefix + "services/access/audit", true},
		{"services/gateway/gateway.go", modulePrefix + "services/gateway/internal/ports", false},
		{"services/gateway/gateway.go", modulePrefix + "pkg/policy", false},
		{"services/lifecycle/internal/app/x.go", modulePrefix + "services/lifecycler", true},
		{"pkg/bus/bus.go", modulePrefix + "pkg/bus/busbench", true},
		{"bench/busbench/main.go", modulePrefix + "pkg/bus", false},
		{"bench/envbench/main.go", modulePrefix + "pkg/bus", false},
		{"services/cost/cost.go", modulePrefix + "bench/costbench", true},
		{"services/cost/cost.go", "github.com/nats-io/nats.go", false},
	} {
		assert.Equal(t, tt.forbidden, forbidden(tt.file, tt.imp) != "", "%s importing %s", tt.file, tt.imp)
	}
}

// walkGo calls fn with every Go file under dirs of root (its path from
// root with slashes, and its path); test files too when tests is set. A
// dir that does not exist is skipped.
func walkGo(t *testing.T, root string, dirs []string, tests bool, fn func(rel, path string) error) {
	t.Helper()
	for _, dir := range dirs {
		if _, err := os.Stat(filepath.Join(root, dir)); errors.Is(err, fs.ErrNotExist) {
			continue
		}
		err := filepath.WalkDir(filepath.Join(root, dir), func(path string, d fs.DirEntry, err error) error {
			if err != nil || d.IsDir() || !strings.HasSuffix(path, ".go") || (!tests && strings.HasSuffix(path, "_test.go")) {
				return err
			}
			rel, _ := filepath.Rel(root, path)
			return fn(filepath.ToSlash(rel), path)
		})
		require.NoError(t, err)
	}
}
