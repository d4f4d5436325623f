package main

import (
	"context"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/pave-platform/pave/pkg/natsfx"
)

// Issue 19, finding 5: the events stream of a web-service said
// url nats://127.0.0.1:4222 while pave dev's NATS listened elsewhere.
// Now the URL is where it listens, and a client reaches the stream there.
func TestEnvironmentStreamURLIsWherePaveDevsNATSListens(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	addr := l.Addr().String()
	require.NoError(t, l.Close())
	p := startPlatform(t, "../../deploy/templates", map[string]string{"PAVE_NATS_EMBEDDED_ADDR": addr})
	id := p.create(map[string]any{"team": "payments", "name": "api", "template": "web-service", "stage": "dev"})
	env := p.waitState(id, "ready")

	var outputs map[string]any
	for _, r := range env["resources"].([]any) {
		if res := r.(map[string]any); res["name"] == "events" {
			outputs = res["outputs"].(map[string]any)
		}
	}
	require.NotNil(t, outputs, "no events resource: %v", env["resources"])
	assert.Equal(t, "nats://"+addr, outputs["url"])

	_, err = nats.Connect(outputs["url"].(string))
	require.Error(t, err, "pave dev's NATS refuses anonymous clients")
	pw, err := os.ReadFile(natsfx.PasswordFile(filepath.Join(p.dataDir, "nats"), natsfx.TenantUser))
	require.NoError(t, err)
	nc, err := nats.Connect(outputs["url"].(string), nats.UserInfo(natsfx.TenantUser, strings.TrimSpace(string(pw))))
	require.NoError(t, err, "the reported URL reaches the server")
	defer nc.Close()
	js, err := jetstream.New(nc)
	require.NoError(t, err)
	_, err = js.Stream(context.Background(), outputs["stream"].(string))
	assert.NoError(t, err, "the stream is there, in the tenants' account")
}
