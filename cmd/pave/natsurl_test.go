package main

import (
	"context"
	"net"
	"net/http"
	"strings"
	"testing"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
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

	// The stream's own login (the owner's, asked for explicitly) reaches
	// it at the reported URL, in the tenants' account.
	code, withCreds := p.do(http.MethodGet, "/v1/environments/"+id+"?credentials=true", nil)
	require.Equal(t, http.StatusOK, code, "%v", withCreds)
	login := loginOf(withCreds, "events")
	require.NotNil(t, login, "the events resource has a login of its own: %v", withCreds["resources"])
	assert.Equal(t, outputs["stream"], login["username"])
	assert.True(t, strings.HasPrefix(login["url"].(string), "nats://"), "%v", login["url"])
	nc, err := nats.Connect(login["url"].(string), nats.CustomInboxPrefix(outputs["inbox_prefix"].(string)))
	require.NoError(t, err, "the reported URL with the resource's login reaches the server")
	defer nc.Close()
	js, err := jetstream.New(nc)
	require.NoError(t, err)
	_, err = js.Stream(context.Background(), outputs["stream"].(string))
	assert.NoError(t, err, "the stream is there, in the tenants' account")
	_, err = js.Publish(context.Background(), outputs["subject_prefix"].(string)+"orders", []byte("{}"))
	assert.NoError(t, err, "and takes the resource's subjects")
}
