package httpfx_test

import (
	"context"
	"errors"
	"io"
	"net/http"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/fx"
	"go.uber.org/fx/fxtest"

	"github.com/pave-platform/pave/pkg/config"
	"github.com/pave-platform/pave/pkg/httpfx"
)

func TestConfigDefaults(t *testing.T) {
	var cfg httpfx.Config
	require.NoError(t, config.LoadFrom(&cfg, nil))

	assert.Equal(t, ":8080", cfg.Addr)
	assert.Equal(t, httpfx.DefaultShutdownTimeout, cfg.ShutdownTimeout)
	assert.Zero(t, cfg.DrainDelay)
}

func TestConfigErrorsNameVariable(t *testing.T) {
	tests := []struct {
		give map[string]string
		want string
	}{
		{give: map[string]string{"PAVE_HTTP_ADDR": "abc"}, want: `config: PAVE_HTTP_ADDR: "abc" is not host:port`},
		{give: map[string]string{"PAVE_HTTP_ADDR": "localhost:http"}, want: `config: PAVE_HTTP_ADDR: "localhost:http" has no port number`},
		{give: map[string]string{"PAVE_HTTP_SHUTDOWN_TIMEOUT": "0s"}, want: "config: PAVE_HTTP_SHUTDOWN_TIMEOUT: must be > 0"},
		{give: map[string]string{"PAVE_HTTP_SHUTDOWN_TIMEOUT": "soon"}, want: `config: PAVE_HTTP_SHUTDOWN_TIMEOUT: time: invalid duration "soon"`},
	}
	for _, tt := range tests {
		var cfg httpfx.Config
		assert.ErrorContains(t, config.LoadFrom(&cfg, tt.give), tt.want)
	}
}

func TestModuleServesGroupRoutesAndChecks(t *testing.T) {
	t.Setenv("PAVE_HTTP_ADDR", "127.0.0.1:0")
	var srv *httpfx.Server
	app := fxtest.New(t,
		httpfx.Module,
		fx.Provide(
			httpfx.AsRoute(func() httpfx.Route {
				return httpfx.Route{Pattern: "GET /v1/ping", Handler: http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
					_, _ = io.WriteString(w, "pong")
				})}
			}),
			httpfx.AsRoutes(func() []httpfx.Route {
				return []httpfx.Route{{Pattern: "GET /v1/a", Handler: http.NotFoundHandler()}}
			}),
			httpfx.AsReadinessCheck(func() httpfx.ReadinessCheck {
				return httpfx.ReadinessCheck{Name: "store", Check: func(context.Context) error { return errors.New("not synced") }}
			}),
			fx.Annotate(
				func() http.Handler {
					return http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { _, _ = io.WriteString(w, "m 1\n") })
				},
				fx.ResultTags(`name:"metrics"`),
			),
		),
		fx.Populate(&srv),
	)
	app.RequireStart()
	base := "http://" + srv.Addr()

	assert.Equal(t, response{status: http.StatusOK, body: "pong"}, get(t, base+"/v1/ping"))
	assert.Equal(t, http.StatusNotFound, get(t, base+"/v1/a").status)
	assert.Equal(t, response{status: http.StatusOK, body: "m 1\n"}, get(t, base+"/metrics"))
	assert.JSONEq(t, `{"status":"unavailable","failing":["store"]}`, get(t, base+"/readyz").body)

	app.RequireStop()
}

func TestModuleStartFailsOnBadConfig(t *testing.T) {
	t.Setenv("PAVE_HTTP_ADDR", "nope")
	app := fx.New(httpfx.Module, fx.NopLogger)
	assert.ErrorContains(t, app.Err(), "PAVE_HTTP_ADDR")
}
