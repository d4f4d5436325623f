package lifecycle

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/pave-platform/pave/pkg/config"
)

func TestConfigDefaults(t *testing.T) {
	var cfg Config
	require.NoError(t, config.LoadFrom(&cfg, nil))

	assert.Equal(t, "platform", cfg.AdmissionPool)
	assert.Equal(t, 30*time.Minute, cfg.AdmissionTimeout)
}

func TestConfigValidateNamesTheVariable(t *testing.T) {
	var valid Config
	require.NoError(t, config.LoadFrom(&valid, nil))
	tests := []struct {
		name   string
		change func(*Config)
		want   string
	}{
		{"empty pool", func(c *Config) { c.AdmissionPool = "" }, "PAVE_LIFECYCLE_ADMISSION_POOL"},
		{"pool with a space", func(c *Config) { c.AdmissionPool = "eu west" }, "PAVE_LIFECYCLE_ADMISSION_POOL"},
		{"short timeout", func(c *Config) { c.AdmissionTimeout = 500 * time.Millisecond }, "PAVE_LIFECYCLE_ADMISSION_TIMEOUT"},
		{"no timeout", func(c *Config) { c.AdmissionTimeout = 0 }, "PAVE_LIFECYCLE_ADMISSION_TIMEOUT"},
		{"no retention", func(c *Config) { c.Retention = 0 }, "PAVE_LIFECYCLE_RETENTION"},
	}
	for _, tt := range tests {
		cfg := valid
		tt.change(&cfg)

		err := cfg.Validate()

		assert.ErrorContains(t, err, tt.want, tt.name)
	}
}

func TestConfigAcceptsOtherPools(t *testing.T) {
	var cfg Config
	require.NoError(t, config.LoadFrom(&cfg, map[string]string{
		"PAVE_LIFECYCLE_ADMISSION_POOL": "gpu-a100_eu.1", "PAVE_LIFECYCLE_ADMISSION_TIMEOUT": "2h",
	}))

	assert.Equal(t, "gpu-a100_eu.1", cfg.AdmissionPool)
	assert.Equal(t, 2*time.Hour, cfg.AdmissionTimeout)
}
