package main

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestCLILoginWritesPrivateConfigAndRefusesBadTokens: pave login checks
// the token with the API, saves server and token with mode 0600, and
// later commands use them; a bad token fails with the server's reason
// and leaves the config alone. Flags beat the environment, which beats
// the file.
func TestCLILoginWritesPrivateConfigAndRefusesBadTokens(t *testing.T) {
	admin := startAccess(t)
	cfg := cliEnv(t)

	var out, errOut bytes.Buffer
	err := runLogin([]string{"--server", admin.base, "--token-stdin", "-o", "table"},
		strings.NewReader(admin.token+"\n"), &out, &errOut)
	require.NoError(t, err, out.String())
	assert.Contains(t, out.String(), "logged in to "+admin.base+" as bootstrap-admin (user)")
	assert.Contains(t, out.String(), "platform roles: platform-admin")
	assert.Contains(t, out.String(), "saved to "+cfg+" (mode 0600)")
	info, err := os.Stat(cfg)
	require.NoError(t, err)
	assert.Equal(t, os.FileMode(0o600), info.Mode().Perm())
	dir, err := os.Stat(filepath.Dir(cfg))
	require.NoError(t, err)
	assert.Equal(t, os.FileMode(0o700), dir.Mode().Perm())
	saved, err := loadConfig(cfg, true)
	require.NoError(t, err)
	assert.Equal(t, fileConfig{Server: admin.base, Token: admin.token}, saved)

	// Later commands need nothing but the config.
	out.Reset()
	require.NoError(t, runAccess("whoami", []string{"-o", "json"}, &out))
	var me map[string]any
	require.NoError(t, json.Unmarshal(out.Bytes(), &me), out.String())
	assert.Equal(t, "bootstrap-admin", me["id"])

	// PAVE_TOKEN beats the file; --token-file beats PAVE_TOKEN.
	t.Setenv("PAVE_TOKEN", "pave_"+strings.Repeat("c", 52))
	err = runAccess("whoami", nil, &out)
	require.Error(t, err)
	assert.Contains(t, err.Error(), "401")
	good := filepath.Join(t.TempDir(), "token")
	writeFile(t, good, admin.token, 0o600)
	out.Reset()
	require.NoError(t, runAccess("whoami", []string{"--token-file", good, "-o", "json"}, &out))
	assert.Contains(t, out.String(), "bootstrap-admin")
	t.Setenv("PAVE_TOKEN", "")

	// A bad token: non-zero exit with the server's reason; config kept.
	before, err := os.ReadFile(cfg)
	require.NoError(t, err)
	for name, token := range map[string]string{
		"unknown":   "pave_" + strings.Repeat("d", 52),
		"malformed": "not-a-token",
	} {
		out.Reset()
		err = runLogin([]string{"--server", admin.base, "--token", token}, nil, &out, &errOut)
		require.Error(t, err, name)
		assert.Contains(t, err.Error(), "login to "+admin.base+": 401 Unauthorized", name)
		assert.Equal(t, exitFailure, exitCode(err), name)
		after, err := os.ReadFile(cfg)
		require.NoError(t, err)
		assert.Equal(t, string(before), string(after), "%s: the config is not touched", name)
	}
	err = runLogin([]string{"--server", admin.base, "--token-stdin"}, strings.NewReader("\n"), &out, &errOut)
	require.Error(t, err)
	assert.Equal(t, exitUsage, exitCode(err), "an empty token is a usage error")

	// Nothing listens: a clear error naming the server.
	err = runLogin([]string{"--server", "http://127.0.0.1:1", "--token", admin.token}, nil, &out, &errOut)
	require.Error(t, err)
	assert.Contains(t, err.Error(), "reaching http://127.0.0.1:1")
}
