package deploytest

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.starlark.net/starlark"
	"go.starlark.net/starlarkstruct"
	"go.starlark.net/syntax"
)

// call is one Tilt builtin call the Tiltfile made.
type call struct {
	args   starlark.Tuple
	kwargs map[string]starlark.Value
}

// runTiltfile executes the Tiltfile with stub builtins that record their
// calls, so a syntax error, an unknown name or a wrong call fails.
func runTiltfile(t *testing.T) map[string][]call {
	t.Helper()
	root := repoRoot(t)
	calls := map[string][]call{}
	stub := func(name string, result starlark.Value) *starlark.Builtin {
		return starlark.NewBuiltin(name, func(_ *starlark.Thread, _ *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
			kw := map[string]starlark.Value{}
			for _, p := range kwargs {
				kw[string(p[0].(starlark.String))] = p[1]
			}
			calls[name] = append(calls[name], call{args, kw})
			if result == nil {
				return starlark.None, nil
			}
			return result, nil
		})
	}
	exists := starlark.NewBuiltin("exists", func(_ *starlark.Thread, _ *starlark.Builtin, args starlark.Tuple, _ []starlark.Tuple) (starlark.Value, error) {
		var p string
		if err := starlark.UnpackPositionalArgs("exists", args, nil, 1, &p); err != nil {
			return nil, err
		}
		_, err := os.Stat(filepath.Join(root, p))
		return starlark.Bool(err == nil), nil
	})
	predeclared := starlark.StringDict{
		"os": &starlarkstruct.Module{Name: "os", Members: starlark.StringDict{
			"path": &starlarkstruct.Module{Name: "path", Members: starlark.StringDict{"exists": exists}},
		}},
	}
	for _, name := range []string{"allow_k8s_contexts", "local_resource", "docker_build", "k8s_yaml", "k8s_resource", "watch_file", "local"} {
		predeclared[name] = stub(name, nil)
	}
	predeclared["helm"] = stub("helm", starlark.String("---\n"))
	predeclared["sync"] = stub("sync", starlark.String("sync-step"))
	predeclared["run"] = stub("run", starlark.String("run-step"))

	src, err := os.ReadFile(filepath.Join(root, "Tiltfile"))
	require.NoError(t, err)
	opts := &syntax.FileOptions{Set: true, While: true, TopLevelControl: true, GlobalReassign: true, Recursion: true}
	thread := &starlark.Thread{Name: "Tiltfile", Load: func(*starlark.Thread, string) (starlark.StringDict, error) {
		return nil, nil
	}}
	_, err = starlark.ExecFileOptions(opts, thread, "Tiltfile", src, predeclared)
	require.NoError(t, err, "Tiltfile")
	return calls
}

func str(v starlark.Value) string {
	s, _ := starlark.AsString(v)
	return s
}

func strs(v starlark.Value) []string {
	var out []string
	if l, ok := v.(*starlark.List); ok {
		for i := range l.Len() {
			out = append(out, str(l.Index(i)))
		}
	}
	return out
}

func TestTiltfile(t *testing.T) {
	calls := runTiltfile(t)

	require.Len(t, calls["docker_build"], 1)
	db := calls["docker_build"][0]
	assert.Equal(t, "pave-dev", str(db.args[0]))
	assert.NotNil(t, db.kwargs["live_update"], "live_update")
	require.NotEmpty(t, calls["sync"])
	assert.Equal(t, ".tilt/bin/", str(calls["sync"][0].args[0]), "live_update syncs the binaries")
	assert.Equal(t, "/usr/local/bin/", str(calls["sync"][0].args[1]))

	require.Len(t, calls["local_resource"], 1, "the binaries are compiled on the host")
	assert.Contains(t, str(calls["local_resource"][0].kwargs["cmd"]), "CGO_ENABLED=0 GOOS=linux go build")

	require.Len(t, calls["helm"], 1)
	assert.Equal(t, "deploy/helm/pave", str(calls["helm"][0].args[0]))
	assert.Len(t, calls["k8s_yaml"], 1)

	forwards := map[string][]string{}
	for _, c := range calls["k8s_resource"] {
		forwards[str(c.args[0])] = strs(c.kwargs["port_forwards"])
	}
	for _, svc := range services {
		assert.Contains(t, forwards, "pave-"+svc)
	}
	assert.Equal(t, []string{"8080:8080"}, forwards["pave-gateway"], "the gateway's port is forwarded")

	// The values Tilt sets render with the chart.
	bin := helmBinary(t)
	args := []string{"template", "pave", chartCopy(t)}
	for _, s := range strs(calls["helm"][0].kwargs["set"]) {
		args = append(args, "--set", s)
	}
	out, err := helm(t, bin, args...)
	require.NoError(t, err, out)
	assert.Contains(t, out, "/busybox/sh", "dev.liveReload wraps the binary")
	assert.Contains(t, out, "image: \"pave-dev:latest\"")
}

// A syntax error in the Tiltfile is caught (guards the check above).
func TestTiltfileSyntaxErrorFails(t *testing.T) {
	_, err := (&syntax.FileOptions{}).Parse("Tiltfile", "docker_build('x',\n", 0)
	assert.Error(t, err)
}
