package natsfx_test

import (
	"context"
	"log/slog"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/fx/fxtest"

	"github.com/pave-platform/pave/pkg/natsfx"
)

// devServer starts the embedded server as `pave dev` does, listening on a
// free port, and returns the platform's connection and the tenants'.
func devServer(t *testing.T, dataDir string) (*natsfx.Embedded, *nats.Conn, *natsfx.Tenants) {
	t.Helper()
	cfg := natsfx.Config{DataDir: dataDir, EmbeddedAddr: "127.0.0.1:0", Name: "test"}
	lc := fxtest.NewLifecycle(t)
	log := slog.New(slog.DiscardHandler)
	emb, err := natsfx.NewEmbeddedFromConfig(lc, cfg, log)
	require.NoError(t, err)
	nc, err := natsfx.NewConn(lc, cfg, emb, log)
	require.NoError(t, err)
	tenants, err := natsfx.NewTenants(lc, emb)
	require.NoError(t, err)
	lc.RequireStart()
	t.Cleanup(lc.RequireStop)
	return emb, nc, tenants
}

func TestTheDevServerAcceptsOnlyItsUsers(t *testing.T) {
	dir := t.TempDir()
	emb, nc, tenants := devServer(t, dir)
	ctx := context.Background()

	_, err := nats.Connect(emb.ClientURL())
	require.Error(t, err, "an anonymous client is refused")
	assert.Contains(t, err.Error(), "Authorization Violation")
	_, err = nats.Connect(emb.ClientURL(), nats.UserInfo(natsfx.PlatformUser, "guess"))
	require.Error(t, err, "a wrong password is refused")

	pwFile := natsfx.PasswordFile(filepath.Join(dir, "nats"), natsfx.PlatformUser)
	fi, err := os.Stat(pwFile)
	require.NoError(t, err)
	assert.Equal(t, os.FileMode(0o600), fi.Mode().Perm(), "the password file is the owner's alone")
	di, err := os.Stat(filepath.Join(dir, "nats"))
	require.NoError(t, err)
	assert.Equal(t, os.FileMode(0o700), di.Mode().Perm())

	cfg := natsfx.Config{URL: emb.ClientURL(), User: natsfx.PlatformUser, PasswordFile: pwFile, Name: "runner"}
	lc := fxtest.NewLifecycle(t)
	other, err := natsfx.NewConn(lc, cfg, &natsfx.Embedded{}, slog.New(slog.DiscardHandler))
	require.NoError(t, err, "a client with the password file gets in, as a pave runner does")
	lc.RequireStart()
	defer lc.RequireStop()
	assert.True(t, other.IsConnected())

	js, err := jetstream.New(nc)
	require.NoError(t, err)
	_, err = js.CreateStream(ctx, jetstream.StreamConfig{Name: "AUDIT", Subjects: []string{"pave.audit.>"}})
	require.NoError(t, err)

	require.NotNil(t, tenants)
	assert.Equal(t, emb.ClientURL(), tenants.URL, "tenants are told where the server really listens")
	_, err = tenants.JetStream.Stream(ctx, "AUDIT")
	assert.ErrorIs(t, err, jetstream.ErrStreamNotFound, "the tenants' account does not see the platform's streams")
	_, err = tenants.JetStream.Publish(ctx, "pave.audit.decision", []byte(`{"forged":true}`))
	assert.Error(t, err, "a tenant's publish on pave.audit.> reaches no platform stream")
	s, err := js.Stream(ctx, "AUDIT")
	require.NoError(t, err)
	info, err := s.Info(ctx)
	require.NoError(t, err)
	assert.Zero(t, info.State.Msgs)
}

func TestTheDevServerKeepsItsStreamsAndPasswordsAcrossRestarts(t *testing.T) {
	dir := t.TempDir()
	ctx := context.Background()
	func() {
		cfg := natsfx.Config{DataDir: dir, EmbeddedAddr: "off", Name: "test"}
		lc := fxtest.NewLifecycle(t)
		log := slog.New(slog.DiscardHandler)
		emb, err := natsfx.NewEmbeddedFromConfig(lc, cfg, log)
		require.NoError(t, err)
		nc, err := natsfx.NewConn(lc, cfg, emb, log)
		require.NoError(t, err)
		lc.RequireStart()
		defer lc.RequireStop()
		js, err := jetstream.New(nc)
		require.NoError(t, err)
		_, err = js.CreateStream(ctx, jetstream.StreamConfig{Name: "KEEP", Subjects: []string{"keep.>"}})
		require.NoError(t, err)
		_, err = js.Publish(ctx, "keep.1", []byte("x"))
		require.NoError(t, err)
	}()
	before, err := os.ReadFile(natsfx.PasswordFile(filepath.Join(dir, "nats"), natsfx.PlatformUser))
	require.NoError(t, err)

	_, nc, _ := devServer(t, dir)
	js, err := jetstream.New(nc)
	require.NoError(t, err)
	var msgs uint64
	require.Eventually(t, func() bool {
		s, err := js.Stream(ctx, "KEEP")
		if err != nil {
			return false
		}
		info, err := s.Info(ctx)
		if err == nil {
			msgs = info.State.Msgs
		}
		return err == nil
	}, 10*time.Second, 20*time.Millisecond, "the stream written before the restart is gone")
	assert.Equal(t, uint64(1), msgs)
	after, err := os.ReadFile(natsfx.PasswordFile(filepath.Join(dir, "nats"), natsfx.PlatformUser))
	require.NoError(t, err)
	assert.Equal(t, before, after, "the password is kept")
}
