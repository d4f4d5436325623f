package main

import (
	"flag"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// cliEnv gives the test its own config directory and no PAVE_*
// settings, so a developer's own config never leaks in.
func cliEnv(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	t.Setenv("XDG_CONFIG_HOME", dir)
	for _, k := range []string{"PAVE_SERVER", "PAVE_TOKEN", "PAVE_CONFIG", "PAVE_OUTPUT"} {
		t.Setenv(k, "")
	}
	t.Setenv("PAVE_DATA_DIR", filepath.Join(dir, "no-data"))
	return filepath.Join(dir, "pave", "config.yaml")
}

func writeFile(t *testing.T, path, content string, mode os.FileMode) {
	t.Helper()
	require.NoError(t, os.MkdirAll(filepath.Dir(path), 0o700))
	require.NoError(t, os.WriteFile(path, []byte(content), mode))
	require.NoError(t, os.Chmod(path, mode))
}

func resolveClient(args ...string) (*client, error) {
	fs := flag.NewFlagSet("pave test", flag.ContinueOnError)
	cf := addClientFlags(fs)
	if _, err := parseFlags(fs, args); err != nil {
		return nil, err
	}
	return cf.client()
}

// TestCLIConfigPrecedence: each setting comes from its flag, else the
// environment, else the config file, else the default.
func TestCLIConfigPrecedence(t *testing.T) {
	cfg := cliEnv(t)
	tokenFile := filepath.Join(t.TempDir(), "token")
	writeFile(t, tokenFile, "pave_from_flag_file\n", 0o600)

	c, err := resolveClient()
	assert.Nil(t, c)
	require.Error(t, err, "no token anywhere")
	assert.Contains(t, err.Error(), "pave login")

	writeFile(t, cfg, "server: http://file.example:1\ntoken: pave_from_file\noutput: json\n", 0o600)
	tests := []struct {
		name                  string
		env                   map[string]string
		args                  []string
		server, token, output string
	}{
		{"file", nil, nil, "http://file.example:1", "pave_from_file", "json"},
		{"environment over file", map[string]string{"PAVE_SERVER": "http://env.example:2/", "PAVE_TOKEN": "pave_from_env", "PAVE_OUTPUT": "table"},
			nil, "http://env.example:2", "pave_from_env", "table"},
		{"flags over environment", map[string]string{"PAVE_SERVER": "http://env.example:2", "PAVE_TOKEN": "pave_from_env", "PAVE_OUTPUT": "table"},
			[]string{"--server", "http://flag.example:3", "--token-file", tokenFile, "-o", "json"}, "http://flag.example:3", "pave_from_flag_file", "json"},
		{"--output is -o", nil, []string{"--output", "table"}, "http://file.example:1", "pave_from_file", "table"},
	}
	for _, tt := range tests {
		for _, k := range []string{"PAVE_SERVER", "PAVE_TOKEN", "PAVE_OUTPUT"} {
			t.Setenv(k, tt.env[k])
		}
		c, err := resolveClient(tt.args...)
		require.NoError(t, err, tt.name)
		assert.Equal(t, tt.server, c.server, tt.name)
		assert.Equal(t, tt.token, c.token, tt.name)
		assert.Equal(t, tt.output, c.output, tt.name)
	}

	// PAVE_CONFIG names another file; --config beats it.
	for _, k := range []string{"PAVE_SERVER", "PAVE_TOKEN", "PAVE_OUTPUT"} {
		t.Setenv(k, "")
	}
	other := filepath.Join(t.TempDir(), "other.yaml")
	writeFile(t, other, "server: https://other.example\ntoken_file: "+tokenFile+"\n", 0o600)
	t.Setenv("PAVE_CONFIG", other)
	c, err = resolveClient()
	require.NoError(t, err)
	assert.Equal(t, "https://other.example", c.server)
	assert.Equal(t, "pave_from_flag_file", c.token, "token_file is read")
	c, err = resolveClient("--config", cfg)
	require.NoError(t, err)
	assert.Equal(t, "http://file.example:1", c.server)

	// Without a config: the default server and the token pave dev writes.
	t.Setenv("PAVE_CONFIG", "")
	require.NoError(t, os.Remove(cfg))
	dataDir := t.TempDir()
	t.Setenv("PAVE_DATA_DIR", dataDir)
	writeFile(t, filepath.Join(dataDir, "token"), "pave_from_dev\n", 0o600)
	c, err = resolveClient()
	require.NoError(t, err)
	assert.Equal(t, "http://localhost:8080", c.server)
	assert.Equal(t, "pave_from_dev", c.token)
	assert.Equal(t, "", c.output, "table on a terminal, JSON otherwise")
}

// TestCLIConfigFileIsValidated: a bad config file stops the command
// with an error naming the file and what is wrong.
func TestCLIConfigFileIsValidated(t *testing.T) {
	cfg := cliEnv(t)
	tests := []struct {
		name, content string
		mode          os.FileMode
		want          string
	}{
		{"unknown key", "server: http://x\nsever: http://y\n", 0o600, `unknown key "sever"`},
		{"not a string", "server: [a, b]\n", 0o600, "server must be a string"},
		{"bad output", "output: yaml\n", 0o600, `output must be table or json, not "yaml"`},
		{"token and token_file", "token: a\ntoken_file: b\n", 0o600, "give token or token_file, not both"},
		{"token readable by others", "token: pave_x\n", 0o644, "readable by others (mode 0644)"},
		{"not yaml", "server: [\n", 0o600, "not YAML"},
		{"bad server", "server: localhost:8080\ntoken: pave_x\n", 0o600, `server "localhost:8080" is not an http(s) URL`},
	}
	for _, tt := range tests {
		writeFile(t, cfg, tt.content, tt.mode)
		_, err := resolveClient()
		require.Error(t, err, tt.name)
		assert.Contains(t, err.Error(), tt.want, tt.name)
		if tt.name != "bad server" {
			assert.Contains(t, err.Error(), cfg, "%s: the error names the file", tt.name)
		}
	}

	_, err := resolveClient("--config", filepath.Join(t.TempDir(), "missing.yaml"))
	require.Error(t, err, "a config the user names must exist")
	assert.Contains(t, err.Error(), "missing.yaml")

	_, err = resolveClient("-o", "yaml")
	require.Error(t, err)
	assert.Equal(t, exitUsage, exitCode(err))
}
