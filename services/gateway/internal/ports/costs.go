package ports

import (
	"context"
	"encoding/json"
	"log/slog"
	"net/http"
	"time"

	"github.com/pave-platform/pave/pkg/httpfx"
	"github.com/pave-platform/pave/pkg/rpc"
)

// exportPage is one page of the cost service's CSV export.
type exportPage struct {
	ContentType string `json:"content_type"`
	Filename    string `json:"filename"`
	CSV         string `json:"csv"`
	Next        string `json:"next"`
	AsOf        string `json:"as_of"`
}

// maxExportPages bounds one export (1,000 rows a page).
const maxExportPages = 1000

// exportCosts is GET /v1/costs/export: the cost service answers the CSV
// a page at a time (NATS messages are bounded), all measured at the
// moment of the first page; the pages are written out as one file.
func exportCosts(c Caller, log *slog.Logger) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		req, _ := buildRequest(w, r, nil)
		started := false
		for range maxExportPages {
			ctx, cancel := context.WithTimeout(r.Context(), 30*time.Second)
			rep, err := c.Call(ctx, rpc.CostsExport, req)
			cancel()
			var page exportPage
			switch {
			case err != nil:
				log.ErrorContext(r.Context(), "export", "error", err)
				if !started {
					httpfx.WriteProblem(w, http.StatusServiceUnavailable, "Service Unavailable", "the cost service did not answer; try again", nil)
				}
				return
			case rep.Problem != nil || rep.Status != http.StatusOK:
				if !started {
					WriteReply(w, log, rep)
				}
				return
			}
			if err := json.Unmarshal(rep.Body, &page); err != nil {
				log.ErrorContext(r.Context(), "export page", "error", err)
				return
			}
			if !started {
				w.Header().Set("Content-Type", page.ContentType)
				w.Header().Set("Content-Disposition", `attachment; filename="`+page.Filename+`"`)
				w.WriteHeader(http.StatusOK)
				started = true
			}
			if _, err := w.Write([]byte(page.CSV)); err != nil || page.Next == "" {
				return
			}
			req.Query["page"], req.Query["as_of"] = page.Next, page.AsOf
		}
	})
}
