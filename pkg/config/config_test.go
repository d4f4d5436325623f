package config_test

import (
	"errors"
	"net"
	"net/url"
	"strconv"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/pave-platform/pave/pkg/config"
)

type httpConfig struct {
	Addr    string        `env:"PAVE_HTTP_ADDR" envDefault:":8080"`
	Timeout time.Duration `env:"PAVE_HTTP_SHUTDOWN_TIMEOUT" envDefault:"15s"`
}

func (c httpConfig) Validate() error {
	var errs []error
	if _, _, err := net.SplitHostPort(c.Addr); err != nil {
		errs = append(errs, config.Invalidf("PAVE_HTTP_ADDR", "%q is not host:port", c.Addr))
	}
	if c.Timeout <= 0 {
		errs = append(errs, config.Invalid("PAVE_HTTP_SHUTDOWN_TIMEOUT", "must be > 0"))
	}
	return errors.Join(errs...)
}

type adminConfig struct {
	Timeout time.Duration `env:"TIMEOUT" envDefault:"5s"`
}

type serviceConfig struct {
	HTTP    httpConfig
	Admin   *adminConfig `envPrefix:"PAVE_ADMIN_"`
	NatsURL *url.URL     `env:"PAVE_NATS_URL" envDefault:"nats://127.0.0.1:4222"`
	Workers int          `env:"PAVE_WORKERS" envDefault:"4"`
}

func (c *serviceConfig) Validate() error {
	if c.Workers <= 0 {
		return config.Invalid("PAVE_WORKERS", "must be > 0")
	}
	return nil
}

func newServiceConfig() *serviceConfig {
	return &serviceConfig{Admin: &adminConfig{}}
}

func TestLoadDefaults(t *testing.T) {
	cfg := newServiceConfig()
	require.NoError(t, config.LoadFrom(cfg, nil))

	assert.Equal(t, ":8080", cfg.HTTP.Addr)
	assert.Equal(t, 15*time.Second, cfg.HTTP.Timeout)
	assert.Equal(t, 5*time.Second, cfg.Admin.Timeout)
	assert.Equal(t, "nats://127.0.0.1:4222", cfg.NatsURL.String())
	assert.Equal(t, 4, cfg.Workers)
}

func TestLoadReadsVariables(t *testing.T) {
	cfg := newServiceConfig()
	require.NoError(t, config.LoadFrom(cfg, map[string]string{
		"PAVE_HTTP_ADDR":     "127.0.0.1:9000",
		"PAVE_ADMIN_TIMEOUT": "1m",
		"PAVE_WORKERS":       "8",
	}))

	assert.Equal(t, "127.0.0.1:9000", cfg.HTTP.Addr)
	assert.Equal(t, time.Minute, cfg.Admin.Timeout)
	assert.Equal(t, 8, cfg.Workers)
}

func TestLoadProcessEnvironment(t *testing.T) {
	t.Setenv("PAVE_WORKERS", "2")
	cfg := newServiceConfig()
	require.NoError(t, config.Load(cfg))
	assert.Equal(t, 2, cfg.Workers)
}

func TestLoadParseErrorNamesVariable(t *testing.T) {
	tests := []struct {
		name    string
		give    map[string]string
		wantVar string
		wantMsg string
	}{
		{
			name:    "duration",
			give:    map[string]string{"PAVE_HTTP_SHUTDOWN_TIMEOUT": "soon"},
			wantVar: "PAVE_HTTP_SHUTDOWN_TIMEOUT",
			wantMsg: `config: PAVE_HTTP_SHUTDOWN_TIMEOUT: time: invalid duration "soon"`,
		},
		{
			// Same field name and type as the one above, in another struct.
			name:    "nested prefix",
			give:    map[string]string{"PAVE_ADMIN_TIMEOUT": "later"},
			wantVar: "PAVE_ADMIN_TIMEOUT",
			wantMsg: `config: PAVE_ADMIN_TIMEOUT: time: invalid duration "later"`,
		},
		{
			name:    "url",
			give:    map[string]string{"PAVE_NATS_URL": "://nope"},
			wantVar: "PAVE_NATS_URL",
			wantMsg: `config: PAVE_NATS_URL: parse "://nope": missing protocol scheme`,
		},
		{
			name:    "int",
			give:    map[string]string{"PAVE_WORKERS": "many"},
			wantVar: "PAVE_WORKERS",
			wantMsg: `config: PAVE_WORKERS: strconv.ParseInt: parsing "many": invalid syntax`,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := config.LoadFrom(newServiceConfig(), tt.give)

			require.Error(t, err)
			var fe *config.FieldError
			require.ErrorAs(t, err, &fe)
			assert.Equal(t, tt.wantVar, fe.Var)
			assert.EqualError(t, err, tt.wantMsg)
		})
	}
}

func TestLoadReportsEveryParseError(t *testing.T) {
	err := config.LoadFrom(newServiceConfig(), map[string]string{
		"PAVE_HTTP_SHUTDOWN_TIMEOUT": "soon",
		"PAVE_WORKERS":               "many",
	})

	require.Error(t, err)
	assert.ErrorContains(t, err, "config: PAVE_HTTP_SHUTDOWN_TIMEOUT: ")
	assert.ErrorContains(t, err, "config: PAVE_WORKERS: ")
	assert.ErrorIs(t, err, strconv.ErrSyntax)
}

func TestLoadValidateErrorNamesVariable(t *testing.T) {
	err := config.LoadFrom(newServiceConfig(), map[string]string{
		"PAVE_HTTP_ADDR":             "abc",
		"PAVE_HTTP_SHUTDOWN_TIMEOUT": "-1s",
		"PAVE_WORKERS":               "0",
	})

	require.Error(t, err)
	assert.ErrorContains(t, err, `config: PAVE_HTTP_ADDR: "abc" is not host:port`)
	assert.ErrorContains(t, err, "config: PAVE_HTTP_SHUTDOWN_TIMEOUT: must be > 0")
	assert.ErrorContains(t, err, "config: PAVE_WORKERS: must be > 0")
}

type plainErrConfig struct {
	Name string `env:"PAVE_NAME"`
}

func (plainErrConfig) Validate() error { return errors.New("name is odd") }

func TestLoadPrefixesPlainValidateErrors(t *testing.T) {
	err := config.LoadFrom(&plainErrConfig{}, nil)
	assert.EqualError(t, err, "config: name is odd")
}

func TestLoadRejectsNonPointer(t *testing.T) {
	assert.Error(t, config.LoadFrom(httpConfig{}, nil))
}

func TestRequiredVariable(t *testing.T) {
	var cfg struct {
		Token string `env:"PAVE_TOKEN,required"`
	}
	err := config.LoadFrom(&cfg, nil)
	assert.EqualError(t, err, "config: PAVE_TOKEN: is required but not set")
}
