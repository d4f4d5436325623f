package redisfx_test

import (
	"context"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/fx"
	"go.uber.org/fx/fxtest"

	"github.com/pave-platform/pave/pkg/config"
	"github.com/pave-platform/pave/pkg/redisfx"
	"github.com/pave-platform/pave/pkg/testkit"
)

func TestClientWhenURLIsSet(t *testing.T) {
	srv := testkit.Redis(t)
	t.Setenv("PAVE_REDIS_URL", srv.URL())
	var c redisfx.Client
	app := fxtest.New(t, fx.Provide(redisfx.LoadConfig, redisfx.New), fx.Populate(&c))
	app.RequireStart()
	defer app.RequireStop()
	require.NotNil(t, c.Redis)
	require.NoError(t, c.Redis.Set(context.Background(), "k", "v", 0).Err())
	assert.NoError(t, redisfx.Readiness(c).Check(context.Background()))
}

func TestNoClientWithoutURL(t *testing.T) {
	t.Setenv("PAVE_REDIS_URL", "")
	var c redisfx.Client
	app := fxtest.New(t, fx.Provide(redisfx.LoadConfig, redisfx.New), fx.Populate(&c))
	app.RequireStart()
	defer app.RequireStop()
	assert.Nil(t, c.Redis)
	assert.NoError(t, redisfx.Readiness(c).Check(context.Background()))
}

func TestBadURLNamesTheVariable(t *testing.T) {
	var c redisfx.Config
	err := config.LoadFrom(&c, map[string]string{"PAVE_REDIS_URL": "http://nope"})
	require.Error(t, err)
	assert.Contains(t, err.Error(), "PAVE_REDIS_URL")
}

func TestUnreachableRedisIsNotReady(t *testing.T) {
	t.Setenv("PAVE_REDIS_URL", "redis://127.0.0.1:1/0")
	var c redisfx.Client
	app := fxtest.New(t, fx.Provide(redisfx.LoadConfig, redisfx.New), fx.Populate(&c))
	app.RequireStart()
	defer app.RequireStop()
	assert.Error(t, redisfx.Readiness(c).Check(context.Background()))
}
