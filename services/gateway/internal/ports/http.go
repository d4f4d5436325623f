// Package ports turns HTTP requests into gateway app calls.
package ports

import (
	"encoding/json"
	"log/slog"
	"net/http"

	"github.com/pave-platform/pave/pkg/httpfx"
	"github.com/pave-platform/pave/services/gateway/internal/app"
)

// API is the authenticated /v1 surface.
func API(a Authenticator, types app.TypeLister, log *slog.Logger) http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /v1/events/types", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, log, http.StatusOK, map[string]any{"items": app.ListEventTypes(types)})
	})
	mux.HandleFunc("/v1/", func(w http.ResponseWriter, r *http.Request) {
		httpfx.WriteProblem(w, http.StatusNotFound, "Not Found",
			"no route "+r.Method+" "+r.URL.Path+" (this API version does not implement it)", nil)
	})
	return RequireAuth(a, log, mux)
}

func writeJSON(w http.ResponseWriter, log *slog.Logger, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	if err := json.NewEncoder(w).Encode(v); err != nil {
		log.Warn("response not written", "error", err)
	}
}
