package ports

import (
	"context"
	"log/slog"
	"net/http"
	"strconv"
	"strings"

	"github.com/pave-platform/pave/pkg/bus"
	"github.com/pave-platform/pave/pkg/httpfx"
)

// Capacity answers which streams are too full to take new work: from
// the fill monitor's last reading, reading again only the streams that
// were filling (no NATS round trip while nothing is near a limit).
type Capacity interface {
	FullNow(ctx context.Context, except ...string) []bus.Fill
}

var _ Capacity = (*bus.FillMonitor)(nil)

// fullRetryAfter is the Retry-After of a refusal, in seconds: long
// enough for an operator's change to show in the next readings.
const fullRetryAfter = 30

// refuseWhenFull answers a write with 503 while any stream is full,
// before it is decided, recorded or forwarded, so that nothing of it is
// done: an environment create either starts whole or not at all. The
// work a write starts flows through most services' streams (a create
// passes lifecycle, cost, access, scheduler and provisioning), and the
// headroom between the refuse ratio and the limit is what lets work
// already under way finish. Reads go on: they change nothing. A full DLQ
// does not stop writes; it is alerted on like any other stream.
func refuseWhenFull(c Capacity, log *slog.Logger, next http.Handler) http.Handler {
	if c == nil {
		return next
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodGet || r.Method == http.MethodHead || r.Method == http.MethodOptions {
			next.ServeHTTP(w, r)
			return
		}
		full := c.FullNow(r.Context(), bus.StreamDLQ)
		if len(full) == 0 {
			next.ServeHTTP(w, r)
			return
		}
		names := make([]string, len(full))
		details := make([]string, len(full))
		for i, f := range full {
			names[i], details[i] = f.Stream, f.String()
		}
		log.WarnContext(r.Context(), "write refused: stream full", "streams", names, "method", r.Method, "path", r.URL.Path)
		w.Header().Set("Retry-After", strconv.Itoa(fullRetryAfter))
		httpfx.WriteProblem(w, http.StatusServiceUnavailable, "Service Unavailable",
			strings.Join(details, "; ")+": Pave takes no new work until space is freed or the limit raised; nothing was changed",
			map[string]any{"streams": names})
	})
}
