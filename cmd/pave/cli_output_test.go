package main

import (
	"bytes"
	"encoding/json"
	"flag"
	"net/http"
	"os"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestCLIOutputIsATableForPeopleAndTheAPIsJSONForScripts: -o json is the
// API's answer as it is; -o table has aligned columns; the default for a
// buffer (not a terminal) is JSON; errors are one line naming the status
// and each field.
func TestCLIOutputIsATableForPeopleAndTheAPIsJSONForScripts(t *testing.T) {
	admin := startAccess(t)
	cliEnv(t)
	t.Setenv("PAVE_SERVER", admin.base)
	t.Setenv("PAVE_TOKEN", admin.token)
	admin.must(http.StatusCreated, http.MethodPost, "/v1/teams", map[string]any{"name": "tables"})
	admin.must(http.StatusOK, http.MethodPut, "/v1/teams/tables/members/alice", map[string]any{"role": "developer"})

	tests := []struct {
		name string
		run  func(args []string, w *bytes.Buffer) error
		args []string
		path string
	}{
		{"templates", func(a []string, w *bytes.Buffer) error { return runTemplates(a, w) }, nil, "/v1/templates"},
		{"one template", func(a []string, w *bytes.Buffer) error { return runTemplates(a, w) }, []string{"redis-cache"}, "/v1/templates/redis-cache"},
		{"pools", func(a []string, w *bytes.Buffer) error { return runPools(a, w) }, nil, "/v1/pools"},
		{"teams", func(a []string, w *bytes.Buffer) error { return runAccess("teams", a, w) }, []string{"list"}, "/v1/teams"},
		{"members", func(a []string, w *bytes.Buffer) error { return runAccess("teams", a, w) }, []string{"members", "tables"}, "/v1/teams/tables/members"},
		{"whoami", func(a []string, w *bytes.Buffer) error { return runAccess("whoami", a, w) }, nil, "/v1/whoami"},
		{"budgets", func(a []string, w *bytes.Buffer) error { return runBudgets(a, w) }, nil, "/v1/budgets"},
		{"workloads", func(a []string, w *bytes.Buffer) error { return runWorkloads(a, w) }, []string{"list"}, "/v1/workloads"},
	}
	for _, tt := range tests {
		var out bytes.Buffer
		require.NoError(t, tt.run(append(append([]string{}, tt.args...), "-o", "json"), &out), tt.name)
		code, _, want := get(t, admin.base+tt.path, admin.token)
		require.Equal(t, http.StatusOK, code, tt.name)
		assert.JSONEq(t, normalize(t, want), normalize(t, out.Bytes()), tt.name)

		out.Reset()
		require.NoError(t, tt.run(tt.args, &out), tt.name)
		assert.True(t, json.Valid(out.Bytes()), "%s: JSON by default when not on a terminal: %s", tt.name, out.String())
	}

	var out bytes.Buffer
	require.NoError(t, runTemplates([]string{"-o", "table"}, &out))
	lines := strings.Split(strings.TrimSpace(out.String()), "\n")
	assert.Regexp(t, `^NAME\s+VERSION\s+VERSIONS\s+OWNER\s+STAGES\s+EPHEMERAL\s+DESCRIPTION$`, lines[0])
	col := strings.Index(lines[0], "EPHEMERAL")
	rows := map[string]string{}
	for _, l := range lines[1:] {
		rows[strings.Fields(l)[0]] = strings.Fields(l[col:])[0]
	}
	assert.Equal(t, map[string]string{"postgres-db": "false", "preview": "true", "redis-cache": "false", "web-service": "false"}, rows,
		"columns are aligned: %s", out.String())

	out.Reset()
	require.NoError(t, runTemplates([]string{"postgres-db", "-o", "table"}, &out))
	assert.Regexp(t, `(?m)^PARAMETER\s+TYPE\s+DEFAULT\s+ALLOWED\s+DESCRIPTION$`, out.String())
	assert.Regexp(t, `(?m)^size\s+small\s+small,medium,large\s+Instance class`, out.String())
	assert.Regexp(t, `(?m)^connection_limit\s+integer\s+20\s+1\.\.100\s+`, out.String())

	out.Reset()
	require.NoError(t, runAccess("teams", []string{"members", "tables", "-o", "table"}, &out))
	assert.Regexp(t, `(?m)^alice\s+developer`, out.String())

	// audit verify: a verdict in words, or the API's report with -o json.
	out.Reset()
	require.NoError(t, runAccess("audit", []string{"verify"}, &out))
	assert.Regexp(t, `^audit chain ok: \d+ records\n$`, out.String())
	out.Reset()
	require.NoError(t, runAccess("audit", []string{"verify", "-o", "json"}, &out))
	var verdict struct {
		OK      bool `json:"ok"`
		Records int  `json:"records"`
	}
	require.NoError(t, json.Unmarshal(out.Bytes(), &verdict), out.String())
	assert.True(t, verdict.OK)
	assert.Positive(t, verdict.Records)

	// Errors: one line with the status, the title and each field.
	err := runAccess("teams", []string{"add-member", "tables", "bob", "owner"}, &out)
	require.Error(t, err)
	assert.Regexp(t, `^422 [A-Za-z ]+: role: `, err.Error())
	assert.NotContains(t, err.Error(), "\n")
	err = runAccess("teams", []string{"get", "nope"}, &out)
	require.Error(t, err)
	assert.Equal(t, exitNotFound, exitCode(err))
	err = runTemplates([]string{"a", "b"}, &out)
	assert.Equal(t, exitUsage, exitCode(err))

	// -h prints the command's help and flags.
	out.Reset()
	err = runEnv([]string{"create", "-h"}, &out, os.Stderr)
	assert.ErrorIs(t, err, flag.ErrHelp)
	assert.Contains(t, out.String(), "pave env create --team T --name N --template X")
	assert.Contains(t, out.String(), "-no-wait")
}

// normalize decodes and re-encodes JSON so key order does not matter.
func normalize(t *testing.T, raw []byte) string {
	t.Helper()
	var v any
	require.NoError(t, json.Unmarshal(raw, &v), string(raw))
	out, err := json.Marshal(v)
	require.NoError(t, err)
	return string(out)
}
