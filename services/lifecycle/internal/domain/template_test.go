package domain_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/pave-platform/pave/services/lifecycle/internal/domain"
)

// TestParseTemplateRefusesInvalidFiles reads testdata/invalid: each file
// says on its first line, after "# want: ", what the error must contain
// after the file name.
func TestParseTemplateRefusesInvalidFiles(t *testing.T) {
	files, err := filepath.Glob("testdata/invalid/*.yaml")
	require.NoError(t, err)
	require.NotEmpty(t, files)
	for _, file := range files {
		t.Run(strings.TrimSuffix(filepath.Base(file), ".yaml"), func(t *testing.T) {
			data, err := os.ReadFile(file)
			require.NoError(t, err)
			firstLine, _, _ := strings.Cut(string(data), "\n")
			want, ok := strings.CutPrefix(firstLine, "# want: ")
			require.True(t, ok, "first line must be # want: <error>")

			_, err = domain.ParseTemplate(file, data)

			require.ErrorIs(t, err, domain.ErrInvalidTemplate)
			var terr *domain.TemplateError
			require.ErrorAs(t, err, &terr)
			assert.Equal(t, file, terr.File)
			assert.Contains(t, err.Error(), file+": "+want)
		})
	}
}

func TestParseTemplateReportsEveryProblemAtOnce(t *testing.T) {
	data := []byte(`
name: t
version: 1.0.0
description: d
owner: o
cost_class: c
parameters:
  type: object
  properties:
    size: {enum: [small, large], default: huge}
resources:
  - {name: db, driver: postgres, class: small, depends_on: [cache], parameters: {db: "${params.name}"}}
  - {name: db, driver: redis, class: "${params.size}"}
lifecycle: {stages: [preview], ephemeral: true, default_ttl: 2h, max_ttl: 1h}
`)
	_, err := domain.ParseTemplate("deploy/templates/t.yaml", data)
	require.Error(t, err)
	assert.Equal(t, strings.Join([]string{
		`deploy/templates/t.yaml: lifecycle.max_ttl: 1h0m0s is shorter than default_ttl 2h0m0s`,
		`deploy/templates/t.yaml: parameters.properties.size.default: default fails its own schema: "huge" is not one of "small", "large"`,
		`deploy/templates/t.yaml: resources[0].depends_on: unknown resource "cache"`,
		`deploy/templates/t.yaml: resources[0].parameters.db: unknown parameter "name"`,
		`deploy/templates/t.yaml: resources[1].name: duplicate resource "db" (also resources[0])`,
	}, "\n"), err.Error())
}

const minimal = `
name: t
version: 1.0.0
description: d
owner: o
cost_class: c
resources:
  - {name: db, driver: postgres, class: small}
lifecycle: {stages: [dev]}
`

func TestParseTemplateFillsDefaults(t *testing.T) {
	tpl, err := domain.ParseTemplate("t.yaml", []byte(minimal))
	require.NoError(t, err)
	assert.Equal(t, "t@1.0.0", tpl.Ref())
	assert.Equal(t, domain.SanitizeDrop, tpl.Resources[0].Sanitize)
	assert.False(t, tpl.Lifecycle.Ephemeral)
	assert.Len(t, tpl.Digest, 64)
	params, resources, err := tpl.Resolve(nil)
	require.NoError(t, err)
	assert.Empty(t, params)
	assert.Equal(t, "db", resources[0].Name)
}

func TestParseTemplateDigestIgnoresLayout(t *testing.T) {
	a, err := domain.ParseTemplate("a.yaml", []byte(minimal))
	require.NoError(t, err)
	b, err := domain.ParseTemplate("b.yaml", []byte("# same content, other layout\n"+
		"lifecycle:\n  stages:\n    - dev\nname: t\nversion: 1.0.0\ndescription: d\nowner: o\ncost_class: c\n"+
		"resources:\n  - name: db\n    class: small\n    driver: postgres\n"))
	require.NoError(t, err)
	c, err := domain.ParseTemplate("c.yaml", []byte(strings.Replace(minimal, "description: d", "description: e", 1)))
	require.NoError(t, err)
	assert.Equal(t, a.Digest, b.Digest)
	assert.NotEqual(t, a.Digest, c.Digest)
}

func TestParseTemplateReadsLifecycle(t *testing.T) {
	tpl, err := domain.ParseTemplate("p.yaml", []byte(strings.Replace(minimal, "lifecycle: {stages: [dev]}",
		"lifecycle: {stages: [preview, dev], ephemeral: true, default_ttl: 8h, max_ttl: 72h, renew_on_activity: true}", 1)))
	require.NoError(t, err)
	assert.Equal(t, domain.Lifecycle{
		Stages:    []domain.Stage{domain.StagePreview, domain.StageDev},
		Ephemeral: true, DefaultTTL: 8 * time.Hour, MaxTTL: 72 * time.Hour, RenewOnActivity: true,
	}, tpl.Lifecycle)
}

func TestResolveNeedsAParsedTemplate(t *testing.T) {
	_, _, err := domain.Template{Name: "t", Version: "1.0.0"}.Resolve(nil)
	assert.ErrorIs(t, err, domain.ErrInvalidTemplate)
}

func TestHealthCheckMustNameAResourceOfTheTemplate(t *testing.T) {
	yaml := `
name: probed
version: 1.0.0
description: d
owner: o
cost_class: c
resources:
  - {name: app, driver: http, class: small}
lifecycle: {stages: [dev]}
health_checks:
  - {name: up, resource: web, output: url, status: 204}
`
	_, err := domain.ParseTemplate("probed.yaml", []byte(yaml))
	var terr *domain.TemplateError
	require.ErrorAs(t, err, &terr)
	assert.Equal(t, "health_checks[0].resource", terr.Fields[0].Field)
}
