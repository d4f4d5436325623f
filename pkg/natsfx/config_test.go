package natsfx_test

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/pave-platform/pave/pkg/config"
	"github.com/pave-platform/pave/pkg/natsfx"
)

func TestConfigErrorsNameTheVariable(t *testing.T) {
	tests := []struct {
		give map[string]string
		want string
	}{
		{map[string]string{"PAVE_NATS_URL": "http://x:4222"}, "PAVE_NATS_URL"},
		{map[string]string{"PAVE_NATS_URL": "nats://a:4222,ftp://b"}, `PAVE_NATS_URL: "ftp://b"`},
		{map[string]string{"PAVE_NATS_CREDS": "/no/such/file.creds", "PAVE_NATS_URL": "nats://a:4222"}, "PAVE_NATS_CREDS"},
		{map[string]string{"PAVE_NATS_TLS_CERT": "/etc/hostname", "PAVE_NATS_URL": "nats://a:4222"}, "PAVE_NATS_TLS_KEY go together"},
		{map[string]string{"PAVE_NATS_EMBEDDED_ADDR": "4222"}, "PAVE_NATS_EMBEDDED_ADDR"},
	}
	for _, tt := range tests {
		var c natsfx.Config
		err := config.LoadFrom(&c, tt.give)
		require.Error(t, err, tt.give)
		assert.Contains(t, err.Error(), tt.want)
	}
}

func TestConfigDefaultsToEmbedded(t *testing.T) {
	var c natsfx.Config
	require.NoError(t, config.LoadFrom(&c, nil))
	assert.True(t, c.Embedded())
	assert.Equal(t, ".pave/jetstream", c.StoreDir())
	assert.Equal(t, "127.0.0.1:4222", c.EmbeddedAddr)
}
