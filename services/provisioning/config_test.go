package provisioning_test

import (
	"encoding/base64"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/pave-platform/pave/pkg/config"
	"github.com/pave-platform/pave/services/provisioning"
)

func TestConfigErrorsNameTheVariable(t *testing.T) {
	tests := []struct {
		give map[string]string
		want string
	}{
		{map[string]string{"PAVE_PROVISIONING_POSTGRES_URL": "mysql://db"}, "PAVE_PROVISIONING_POSTGRES_URL"},
		{map[string]string{"PAVE_PROVISIONING_REDIS_URL": "redis://localhost:6379/2"}, "PAVE_PROVISIONING_REDIS_URL: redis admin url: must use database 0"},
		{map[string]string{"PAVE_PROVISIONING_NATS_URL": "localhost"}, "PAVE_PROVISIONING_NATS_URL"},
		{map[string]string{"PAVE_PROVISIONING_HTTP_URL": "ftp://x"}, "PAVE_PROVISIONING_HTTP_URL"},
		{map[string]string{"PAVE_PROVISIONING_EXEC_TIMEOUT": "0s"}, "PAVE_PROVISIONING_EXEC_TIMEOUT"},
		{map[string]string{"PAVE_PROVISIONING_HTTP_TIMEOUT": "10m"}, "PAVE_PROVISIONING_HTTP_TIMEOUT"},
		{map[string]string{"PAVE_PROVISIONING_KEY": "c2hvcnQ="}, "PAVE_PROVISIONING_KEY: want 32 bytes"},
		{map[string]string{"PAVE_PROVISIONING_KEY": key32(), "PAVE_PROVISIONING_KEY_FILE": "/k"}, "not both"},
		{map[string]string{"PAVE_PROVISIONING_SWEEP_INTERVAL": "10ms"}, "PAVE_PROVISIONING_SWEEP_INTERVAL"},
		{map[string]string{"PAVE_PROVISIONING_TOMBSTONE_RETENTION": "1h"}, "PAVE_PROVISIONING_TOMBSTONE_RETENTION: must be 0 (keep every tombstone) or at least 24h"},
		{map[string]string{"PAVE_PROVISIONING_SWEEP_REMOVE": "maybe"}, "PAVE_PROVISIONING_SWEEP_REMOVE"},
		{map[string]string{"PAVE_PROVISIONING_DRIFT_INTERVAL": "-1s"}, "PAVE_PROVISIONING_DRIFT_INTERVAL"},
		{map[string]string{"PAVE_PROVISIONING_DRIFT_INTERVAL": "10ms"}, "PAVE_PROVISIONING_DRIFT_INTERVAL"},
		{map[string]string{"PAVE_PROVISIONING_DRIFT_REMEDIATE": "maybe"}, "PAVE_PROVISIONING_DRIFT_REMEDIATE"},
	}
	for _, tt := range tests {
		var c provisioning.Config
		err := config.LoadFrom(&c, tt.give)
		require.Error(t, err, "%v", tt.give)
		assert.Contains(t, err.Error(), tt.want)
	}
}

func TestConfigDefaultsConfigureNoTarget(t *testing.T) {
	var c provisioning.Config
	require.NoError(t, config.LoadFrom(&c, nil))
	assert.Empty(t, c.PostgresURL+c.RedisURL+c.NATSURL+c.HTTPURL+c.ExecCommand)
	assert.False(t, c.SweepRemove, "orphans are reported, not removed, unless asked")
	assert.Positive(t, c.SweepInterval)
	assert.Equal(t, 5*time.Minute, c.DriftInterval)
	assert.False(t, c.DriftRemediate, "drift is reported, not remediated, unless asked")
}

func TestMasterKeyComesFromTheVariableOrAFileInTheDataDir(t *testing.T) {
	dir := t.TempDir()
	var c provisioning.Config
	require.NoError(t, config.LoadFrom(&c, map[string]string{"PAVE_DATA_DIR": dir}))
	key, file, created, err := c.MasterKey()
	require.NoError(t, err)
	assert.True(t, created)
	assert.Equal(t, filepath.Join(dir, "provisioning.key"), file)
	assert.Len(t, key, 32)
	again, _, created, err := c.MasterKey()
	require.NoError(t, err)
	assert.False(t, created, "pave dev keeps its key across restarts")
	assert.Equal(t, key, again)

	explicit := key32()
	var fromVar provisioning.Config
	require.NoError(t, config.LoadFrom(&fromVar, map[string]string{"PAVE_PROVISIONING_KEY": explicit, "PAVE_DATA_DIR": dir}))
	key, file, _, err = fromVar.MasterKey()
	require.NoError(t, err)
	assert.Empty(t, file)
	assert.Equal(t, explicit, base64.StdEncoding.EncodeToString(key))

	bad := filepath.Join(dir, "bad.key")
	require.NoError(t, os.WriteFile(bad, []byte("nope"), 0o600))
	var fromFile provisioning.Config
	require.NoError(t, config.LoadFrom(&fromFile, map[string]string{"PAVE_PROVISIONING_KEY_FILE": bad}))
	_, _, _, err = fromFile.MasterKey()
	assert.ErrorContains(t, err, bad)
}

func key32() string {
	return base64.StdEncoding.EncodeToString([]byte("0123456789abcdef0123456789abcdef"))
}
