package app_test

import (
	"bytes"
	"context"
	"errors"
	"testing"

	"github.com/nats-io/nats.go/jetstream"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/pave-platform/pave/pkg/bus"
	"github.com/pave-platform/pave/services/lifecycle/internal/app"
	"github.com/pave-platform/pave/services/lifecycle/internal/domain"
)

// Issue 15: at a full stream a create that does not come through the
// gateway's HTTP check (a webhook's preview, a promotion) was stored,
// then failed half-way and left the environment queued. Now it is
// refused before anything is stored, naming the stream, and goes
// through once there is room.
func TestCreateAtAFullStreamIsRefusedBeforeAnythingIsStored(t *testing.T) {
	h := newHarness(t)
	ctx := context.Background()
	_, err := h.JS.CreateStream(ctx, jetstream.StreamConfig{Name: "FILLTEST", Subjects: []string{"filltest.>"},
		MaxBytes: 64 << 10, Discard: jetstream.DiscardNew, Storage: jetstream.FileStorage})
	require.NoError(t, err)
	pad := bytes.Repeat([]byte("x"), 512)
	for i := 0; ; i++ {
		require.Less(t, i, 1000, "FILLTEST never refused a message")
		if _, err := h.JS.Publish(ctx, "filltest.x", pad); err != nil {
			break
		}
	}
	fill, err := bus.NewFillMonitor(h.Bus, bus.DefaultFillOptions(), nil, nil)
	require.NoError(t, err)
	require.NoError(t, fill.Check(ctx))
	h.Svc.WithCapacity(fill)

	_, err = h.Svc.Create(ctx, alice, domain.CreateRequest{Team: "payments", Name: "checkout", Template: "shop"})
	var full *app.FullError
	require.True(t, errors.As(err, &full), "want a FullError, got %v", err)
	assert.Equal(t, []string{"FILLTEST"}, full.Streams)
	assert.Contains(t, full.Error(), "nothing was changed")
	list, err := h.Envs.List(ctx)
	require.NoError(t, err)
	assert.Empty(t, list, "the refused create stored no environment")
	names, err := h.Envs.Names(ctx)
	require.NoError(t, err)
	assert.Empty(t, names, "and reserved no name")

	s, err := h.JS.Stream(ctx, "FILLTEST")
	require.NoError(t, err)
	require.NoError(t, s.Purge(ctx))
	require.NoError(t, fill.Check(ctx))
	env, err := h.Svc.Create(ctx, alice, domain.CreateRequest{Team: "payments", Name: "checkout", Template: "shop"})
	require.NoError(t, err, "once there is room the same create goes through")
	assert.Equal(t, domain.StateQueued, env.State)
}
