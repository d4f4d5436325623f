// Package ports turns HTTP requests into gateway app calls.
package ports

import (
	"encoding/json"
	"log/slog"
	"net/http"
	"slices"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/redis/go-redis/v9"
	"go.opentelemetry.io/otel/metric"

	"github.com/pave-platform/pave/pkg/httpfx"
	"github.com/pave-platform/pave/pkg/rpc"
	"github.com/pave-platform/pave/pkg/schema"
	"github.com/pave-platform/pave/services/gateway/internal/app"
	"github.com/pave-platform/pave/services/gateway/internal/openapicheck"
)

// Deps is what the gateway's handlers are built from.
type Deps struct {
	Auth     Authenticator
	Caller   Caller
	Types    app.TypeLister
	Authz    Authz
	Log      *slog.Logger
	NC       *nats.Conn
	JS       jetstream.JetStream
	Registry *schema.Registry
	// Redis is nil unless PAVE_REDIS_URL is set; JetStream KV is the default.
	Redis *redis.Client
	// Config is the API settings (the gateway loads them once, with its own).
	Config *Config
	// Meters is the process's meter provider (nil: the global one).
	Meters metric.MeterProvider
	// Capacity refuses writes while a stream is full (nil: never).
	Capacity Capacity
	// Events validates ingress events: Pave's types and the teams'
	// custom ones (nil: Registry, Pave's only).
	Events EventRegistry
	// Acting is given the API's chain below authentication, for
	// automations that act as a service account (nil: none).
	Acting *Acting
	// Notify answers /v1/subscriptions and /v1/alerts (nil: 501).
	Notify http.Handler
}

// API is the authenticated /v1 surface.
func API(d Deps) http.Handler {
	a, c, types, az, log := d.Auth, d.Caller, d.Types, d.Authz, d.Log
	cfg := d.Config
	mux := http.NewServeMux()
	for _, rt := range slices.Concat(routeGroups...) {
		mux.Handle(rt.pattern, Forward(c, log, rt.subject, rt.keys...))
	}
	mux.Handle("GET /v1/environments/{id}", getEnvironment(az, c, log))
	mux.Handle("GET /v1/environments/{id}/events", capStreams(cfg.StreamsPerPrincipal, environmentEvents(c, d.JS, log)))
	mux.Handle("GET /v1/operations/{id}", getOperation(c, d.JS, log))
	mux.Handle("GET /v1/costs/export", exportCosts(c, log))
	registerIngress(mux, d, cfg.Ingress)
	registerNotify(mux, d, *cfg)
	mux.HandleFunc("GET /v1/events/types", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, log, http.StatusOK, map[string]any{"items": app.ListEventTypes(types)})
	})
	mux.HandleFunc("/v1/", func(w http.ResponseWriter, r *http.Request) {
		httpfx.WriteProblem(w, http.StatusNotFound, "Not Found",
			"no route "+r.Method+" "+r.URL.Path+" (this API version does not implement it)", nil)
	})
	inner := rateLimited(newLimiter(*cfg, d.Redis, d.JS), *cfg, d.Meters, log,
		refuseWhenFull(d.Capacity, log, authorize(az, c, mux, log)))
	d.Acting.set(inner)
	h := RequireAuth(a, log, inner)
	if cfg.OpenAPICheck == "strict" {
		chk, err := openapicheck.Load(log)
		if err != nil {
			log.Error("PAVE_OPENAPI_CHECK=strict: no spec to check against", "error", err)
			return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				httpfx.WriteProblem(w, http.StatusInternalServerError, "OpenAPI check unavailable", err.Error(), nil)
			})
		}
		h = chk.Middleware(h)
	}
	return h
}

// forwarded routes are answered by the service that owns the resource.
var forwarded = []route{
	{"GET /v1/templates", rpc.TemplatesList, nil},
	{"GET /v1/templates/{name}", rpc.TemplatesGet, []string{"name"}},
	{"POST /v1/environments", rpc.EnvironmentsCreate, nil},
	{"GET /v1/environments", rpc.EnvironmentsList, nil},
	{"PATCH /v1/environments/{id}", rpc.EnvironmentsUpdate, []string{"id"}},
	{"DELETE /v1/environments/{id}", rpc.EnvironmentsDelete, []string{"id"}},
	{"POST /v1/environments/{id}/extend", rpc.EnvironmentsExtend, []string{"id"}},
	// The caller's own just-in-time grant logins on the environment's
	// resources, from provisioning (the environment is looked up first).
	{"GET /v1/environments/{id}/grant-credentials", rpc.GrantCredentials, []string{"id"}},
	// The teardown receipt, from provisioning (the environment is looked up first).
	{"GET /v1/environments/{id}/receipt", rpc.EnvironmentReceipt, []string{"id"}},
	{"POST /v1/workloads", rpc.WorkloadsSubmit, nil},
	{"GET /v1/workloads", rpc.WorkloadsList, nil},
	{"GET /v1/workloads/{id}", rpc.WorkloadsGet, []string{"id"}},
	{"DELETE /v1/workloads/{id}", rpc.WorkloadsCancel, []string{"id"}},
	{"GET /v1/pools", rpc.PoolsList, nil},
	{"GET /v1/pools/{name}", rpc.PoolsGet, []string{"name"}},
	{"PUT /v1/pools/{name}", rpc.PoolsPut, []string{"name"}},
	{"GET /v1/quotas/{team}", rpc.QuotasGet, []string{"team"}},
	{"PUT /v1/quotas/{team}", rpc.QuotasPut, []string{"team"}},
	{"POST /v1/costs/estimate", rpc.CostsEstimate, nil},
	{"GET /v1/costs", rpc.CostsQuery, nil},
	{"GET /v1/budgets", rpc.BudgetsList, nil},
	{"GET /v1/budgets/{team}", rpc.BudgetsGet, []string{"team"}},
	{"PUT /v1/budgets/{team}", rpc.BudgetsPut, []string{"team"}},
	{"GET /v1/ratecards", rpc.RateCardsGet, nil},
	// Provisioning's servers: an operator may declare one gone for good.
	{"GET /v1/servers", rpc.ServersList, nil},
	{"PUT /v1/servers/{driver}/gone", rpc.ServersDeclareGone, []string{"driver"}},
	{"DELETE /v1/servers/{driver}/gone", rpc.ServersRestore, []string{"driver"}},
}

// coreRules are the actions and resources of the routes above and of the
// gateway's own handlers.
var coreRules = map[string]resolver{
	"GET /v1/templates":                           onPlatform("template:read"),
	"GET /v1/templates/{name}":                    onPlatform("template:read"),
	"POST /v1/environments":                       newEnvironment,
	"GET /v1/environments":                        onTeamQuery("team:read"),
	"GET /v1/environments/{id}":                   onEnvironment("environment:read"),
	"GET /v1/environments/{id}/events":            onEnvironment("environment:read"),
	"GET /v1/environments/{id}/grant-credentials": onEnvironment(grantCredentialsAction),
	"GET /v1/environments/{id}/receipt":           onEnvironment("environment:read"),
	"GET /v1/operations/{id}":                     onOperation,
	"PATCH /v1/environments/{id}":                 onEnvironment("environment:update"),
	"DELETE /v1/environments/{id}":                onEnvironment("environment:delete"),
	"POST /v1/environments/{id}/extend":           onEnvironment("environment:update"),
	"POST /v1/workloads":                          onTeamBody("workload:submit"),
	"GET /v1/workloads":                           onTeamQuery("team:read"),
	"GET /v1/workloads/{id}":                      onWorkload("workload:read"),
	"DELETE /v1/workloads/{id}":                   onWorkload("workload:cancel"),
	"GET /v1/pools":                               onPlatform("pool:read"),
	"GET /v1/pools/{name}":                        onPlatform("pool:read"),
	"PUT /v1/pools/{name}":                        onPlatform("pool:write"),
	"GET /v1/quotas/{team}":                       onTeamPath("quota:read"),
	"PUT /v1/quotas/{team}":                       onPlatform("quota:write"),
	"POST /v1/costs/estimate":                     onTeamBodyOrPlatform("cost:estimate"),
	"GET /v1/costs":                               onTeamQuery("cost:read"),
	"GET /v1/costs/export":                        onTeamQuery("cost:read"),
	"GET /v1/budgets":                             onTeamQuery("budget:read"),
	"GET /v1/budgets/{team}":                      onTeamPath("budget:read"),
	"PUT /v1/budgets/{team}":                      onTeamPath("budget:write"),
	"GET /v1/ratecards":                           onPlatform("ratecard:read"),
	"GET /v1/events/types":                        onPlatform("event-type:read"),
	"GET /v1/servers":                             onPlatform("server:read"),
	"PUT /v1/servers/{driver}/gone":               onPlatform("server:declare-gone"),
	"DELETE /v1/servers/{driver}/gone":            onPlatform("server:declare-gone"),
	"/v1/":                                        onPlatform("platform:list"), // unknown routes: 404
}

func writeJSON(w http.ResponseWriter, log *slog.Logger, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	if err := json.NewEncoder(w).Encode(v); err != nil {
		log.Warn("response not written", "error", err)
	}
}
