// Package ports turns HTTP requests into gateway app calls.
package ports

import (
	"encoding/json"
	"log/slog"
	"net/http"
	"slices"

	"github.com/pave-platform/pave/pkg/httpfx"
	"github.com/pave-platform/pave/pkg/rpc"
	"github.com/pave-platform/pave/services/gateway/internal/app"
)

// API is the authenticated /v1 surface.
func API(a Authenticator, c Caller, types app.TypeLister, az Authz, log *slog.Logger) http.Handler {
	mux := http.NewServeMux()
	for _, rt := range slices.Concat(forwarded, accessRoutes) {
		mux.Handle(rt.pattern, Forward(c, log, rt.subject, rt.keys...))
	}
	mux.Handle("GET /v1/environments/{id}", getEnvironment(c, log))
	mux.Handle("GET /v1/costs/export", exportCosts(c, log))
	mux.HandleFunc("GET /v1/events/types", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, log, http.StatusOK, map[string]any{"items": app.ListEventTypes(types)})
	})
	mux.HandleFunc("/v1/", func(w http.ResponseWriter, r *http.Request) {
		httpfx.WriteProblem(w, http.StatusNotFound, "Not Found",
			"no route "+r.Method+" "+r.URL.Path+" (this API version does not implement it)", nil)
	})
	return RequireAuth(a, log, authorize(az, c, mux, log))
}

// forwarded routes are answered by the service that owns the resource.
var forwarded = []struct {
	pattern, subject string
	keys             []string
}{
	{"GET /v1/templates", rpc.TemplatesList, nil},
	{"GET /v1/templates/{name}", rpc.TemplatesGet, []string{"name"}},
	{"POST /v1/environments", rpc.EnvironmentsCreate, nil},
	{"GET /v1/environments", rpc.EnvironmentsList, nil},
	{"PATCH /v1/environments/{id}", rpc.EnvironmentsUpdate, []string{"id"}},
	{"DELETE /v1/environments/{id}", rpc.EnvironmentsDelete, []string{"id"}},
	{"POST /v1/environments/{id}/extend", rpc.EnvironmentsExtend, []string{"id"}},
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
}

func writeJSON(w http.ResponseWriter, log *slog.Logger, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	if err := json.NewEncoder(w).Encode(v); err != nil {
		log.Warn("response not written", "error", err)
	}
}
