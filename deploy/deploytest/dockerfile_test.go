package deploytest

import (
	"os"
	"path"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"golang.org/x/mod/modfile"
)

// Every service module in go.work, and the CLI, is built into the image.
func TestDockerfileBuildsEveryBinary(t *testing.T) {
	root := repoRoot(t)
	df := readFile(t, "deploy/Dockerfile")

	work, err := os.ReadFile(filepath.Join(root, "go.work"))
	require.NoError(t, err)
	wf, err := modfile.ParseWork("go.work", work, nil)
	require.NoError(t, err)

	var binaries []string
	for _, u := range wf.Use {
		dir := path.Clean(u.Path)
		switch {
		case strings.HasPrefix(dir, "services/"):
			name := path.Base(dir)
			binaries = append(binaries, name)
			assert.Regexp(t, buildLine("./"+dir+"/cmd/"+name), df, "Dockerfile builds %s", name)
			_, err := os.Stat(filepath.Join(root, dir, "cmd", name))
			assert.NoError(t, err, "%s/cmd/%s exists", dir, name)
		case dir == "cmd/pave":
			assert.Regexp(t, buildLine("./cmd/pave"), df, "Dockerfile builds the pave CLI")
		}
	}
	assert.ElementsMatch(t, services, binaries, "go.work's services")

	for _, want := range []string{
		"FROM golang:${GO_VERSION} AS build",
		"ARG GO_VERSION=1.26",
		"CGO_ENABLED=0",
		"-trimpath",
		`-ldflags="-s -w"`,
		"FROM gcr.io/distroless/static-debian12:nonroot",
		"USER 65532:65532",
		"COPY deploy/templates /etc/pave/templates",
		"PAVE_TEMPLATES_DIR=/etc/pave/templates",
		"COPY deploy/scheduler /etc/pave/scheduler",
		"PAVE_SCHEDULER_CONFIG=/etc/pave/scheduler/pools.yaml",
		"-o /out/healthcheck ./cmd/healthcheck",
	} {
		assert.Contains(t, df, want)
	}
	assert.NotRegexp(t, regexp.MustCompile(`(?m)^ENTRYPOINT`), df, "services are started by binary name: no ENTRYPOINT")

	// The build context keeps what the build needs.
	ignore := readFile(t, ".dockerignore")
	for _, line := range strings.Split(ignore, "\n") {
		line = strings.TrimSpace(line)
		for _, needed := range []string{"go.work", "pkg", "schemas", "services", "cmd", "deploy/templates", "deploy/deploytest", "deploy"} {
			assert.NotEqual(t, needed, line, ".dockerignore must not exclude %s", needed)
		}
	}
}

// buildLine matches a package on its own line of the go build command.
func buildLine(pkg string) *regexp.Regexp {
	return regexp.MustCompile(`(?m)^\s+` + regexp.QuoteMeta(pkg) + `(\s+\\)?$`)
}
