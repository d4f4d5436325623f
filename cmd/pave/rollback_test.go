package main

import (
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// versionedProvisioner is an exec provisioner that records, per object,
// the version it last applied in a file of dir, answers it as an output,
// and refuses version "bad" for a resource marked strict (as a real
// deployment refuses an image that does not start).
const versionedProvisioner = `#!/bin/sh
in=$(cat)
dir=%q
name=$(printf '%%s' "$in" | sed -n 's/.*"name":"\([^"]*\)".*/\1/p')
version=$(printf '%%s' "$in" | sed -n 's/.*"version":"\([^"]*\)".*/\1/p')
case "$in" in
*'"action":"inventory"'*) echo '{"names":[]}'; exit 0;;
*'"action":"deprovision"'*|*'"action":"sanitize"'*) rm -f "$dir/$name"; echo '{}'; exit 0;;
esac
case "$in" in
*'"strict":true'*) if [ "$version" = bad ]; then echo "version bad does not start" >&2; exit 1; fi;;
esac
printf '%%s' "$version" > "$dir/$name"
printf '{"outputs":{"url":"http://%%s.local","version":"%%s"}}' "$name" "$version"
`

// Issue 19, finding 3: after an update to version=bad rolled back, the
// environment showed parameters {version: bad} and the failed resource
// without outputs, while the provisioner held the previous revision.
func TestRolledBackUpdateShowsTheRevisionThatRuns(t *testing.T) {
	state := t.TempDir()
	script := filepath.Join(t.TempDir(), "versioned.sh")
	require.NoError(t, os.WriteFile(script, []byte(fmt.Sprintf(versionedProvisioner, state)), 0o755))
	p := startPlatform(t, "testdata/rollback", map[string]string{"PAVE_PROVISIONING_EXEC_COMMAND": script})
	id := p.create(map[string]any{"team": "payments", "name": "shop", "template": "versioned", "stage": "dev",
		"parameters": map[string]any{"version": "v1"}})
	p.waitState(id, "ready")

	code, out := p.do(http.MethodPatch, "/v1/environments/"+id, map[string]any{"parameters": map[string]any{"version": "v2"}})
	require.Equal(t, http.StatusAccepted, code, "%v", out)
	p.waitState(id, "ready")
	code, out = p.do(http.MethodPatch, "/v1/environments/"+id, map[string]any{"parameters": map[string]any{"version": "bad"}})
	require.Equal(t, http.StatusAccepted, code, "%v", out)
	env := p.waitState(id, "degraded")

	assert.Equal(t, map[string]string{"api": "v2", "web": "v2"}, applied(t, state), "the provisioner runs revision 2 again")
	assert.Equal(t, "v2", env["parameters"].(map[string]any)["version"], "the parameters are those of the revision that runs")
	assert.EqualValues(t, 2, env["revision"])
	assert.Contains(t, env["reason"], "update to revision 3 rolled back")
	assert.Contains(t, env["reason"], "version bad does not start")
	for _, r := range env["resources"].([]any) {
		res := r.(map[string]any)
		assert.Equal(t, "ready", res["state"], "%s runs revision 2", res["name"])
		assert.Equal(t, map[string]any{"url": fmt.Sprintf("http://%s.local", objectOf(t, state, res["name"].(string))), "version": "v2"},
			res["outputs"], "%s shows revision 2's outputs", res["name"])
	}
	revs := env["revisions"].([]any)
	require.Len(t, revs, 3, "the history keeps the rolled-back revision")
	assert.Equal(t, true, revs[2].(map[string]any)["rolled_back"])

	// The next update gets a number of its own and applies.
	code, out = p.do(http.MethodPatch, "/v1/environments/"+id, map[string]any{"parameters": map[string]any{"version": "v4"}})
	require.Equal(t, http.StatusAccepted, code, "%v", out)
	env = p.waitState(id, "ready")
	assert.EqualValues(t, 4, env["revision"])
	assert.Equal(t, map[string]string{"api": "v4", "web": "v4"}, applied(t, state))
}

// applied reads the version the provisioner holds for each resource, by
// resource name (the file names are the objects' names).
func applied(t *testing.T, dir string) map[string]string {
	t.Helper()
	entries, err := os.ReadDir(dir)
	require.NoError(t, err)
	out := map[string]string{}
	for _, e := range entries {
		raw, err := os.ReadFile(filepath.Join(dir, e.Name()))
		require.NoError(t, err)
		out[e.Name()[strings.LastIndex(e.Name(), "_")+1:]] = string(raw)
	}
	return out
}

// objectOf is the object name the provisioner was given for a resource.
func objectOf(t *testing.T, dir, resource string) string {
	t.Helper()
	entries, err := os.ReadDir(dir)
	require.NoError(t, err)
	for _, e := range entries {
		if strings.HasSuffix(e.Name(), "_"+resource) {
			return e.Name()
		}
	}
	t.Fatalf("the provisioner holds no object for %s", resource)
	return ""
}
