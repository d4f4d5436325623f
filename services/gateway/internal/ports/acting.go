package ports

import (
	"bytes"
	"context"
	"net/http"
	"sync"

	"github.com/pave-platform/pave/pkg/authn"
)

// Acting makes API calls as a principal through the same chain as a
// request with that principal's token (rate limits, capacity, the Cedar
// decision, the audit ledger, the route's handler), for automations
// acting as a service account. It is in-process only: no HTTP route
// reaches it, so no caller can claim a principal.
type Acting struct {
	mu sync.RWMutex
	h  http.Handler
}

// NewActing is filled by API when the chain is built.
func NewActing() *Acting { return &Acting{} }

func (a *Acting) set(h http.Handler) {
	if a == nil {
		return
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	a.h = h
}

// Act calls method path with body as p and answers the status and body.
func (a *Acting) Act(ctx context.Context, p authn.Principal, method, path string, body []byte) (int, []byte) {
	a.mu.RLock()
	h := a.h
	a.mu.RUnlock()
	if h == nil {
		return http.StatusServiceUnavailable, []byte(`{"title":"Service Unavailable","detail":"the API is not running"}`)
	}
	req, err := http.NewRequestWithContext(context.WithValue(ctx, principalKey{}, p), method, path, bytes.NewReader(body))
	if err != nil {
		return http.StatusBadRequest, []byte(`{"title":"Bad Request","detail":"the call could not be made"}`)
	}
	if len(body) > 0 {
		req.Header.Set("Content-Type", "application/json")
	}
	req.RemoteAddr = "automation"
	rec := &recorder{header: http.Header{}, status: http.StatusOK}
	h.ServeHTTP(rec, req)
	return rec.status, rec.body.Bytes()
}

// recorder is the response of one acted call.
type recorder struct {
	header http.Header
	status int
	wrote  bool
	body   bytes.Buffer
}

func (r *recorder) Header() http.Header { return r.header }

func (r *recorder) WriteHeader(code int) {
	if !r.wrote {
		r.status, r.wrote = code, true
	}
}

func (r *recorder) Write(b []byte) (int, error) {
	r.WriteHeader(http.StatusOK)
	return r.body.Write(b)
}
