package ports

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"os"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/pave-platform/pave/pkg/httpfx"
	"github.com/pave-platform/pave/pkg/rpc"
)

// MaxBodyBytes bounds every request body; larger ones get 413.
const MaxBodyBytes = 1 << 20

// Caller sends an API call to the owning service.
type Caller interface {
	Call(ctx context.Context, subject string, req rpc.Request) (rpc.Reply, error)
}

// NATSCaller calls services over NATS request/reply.
type NATSCaller struct{ NC *nats.Conn }

// Call implements Caller.
func (c NATSCaller) Call(ctx context.Context, subject string, req rpc.Request) (rpc.Reply, error) {
	return rpc.Call(ctx, c.NC, subject, req)
}

// Forward turns an authenticated HTTP request into an rpc call on subject
// and writes the reply. pathKeys are the route's wildcards to pass along.
func Forward(c Caller, log *slog.Logger, subject string, pathKeys ...string) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		req, ok := buildRequest(w, r, pathKeys)
		if !ok {
			return
		}
		ctx, cancel := context.WithTimeout(r.Context(), 15*time.Second)
		defer cancel()
		rep, err := c.Call(ctx, subject, req)
		if err != nil {
			log.ErrorContext(r.Context(), "forward", "subject", subject, "error", err)
			detail := "the owning service did not answer; try again"
			if errors.Is(err, nats.ErrNoResponders) {
				detail = "the owning service is not running"
			}
			httpfx.WriteProblem(w, http.StatusServiceUnavailable, "Service Unavailable", detail, nil)
			return
		}
		WriteReply(w, log, rep)
	})
}

func buildRequest(w http.ResponseWriter, r *http.Request, pathKeys []string) (rpc.Request, bool) {
	p, _ := PrincipalFrom(r.Context())
	req := rpc.Request{Principal: p, Path: map[string]string{}, Query: map[string]string{},
		IfMatch: r.Header.Get("If-Match")}
	for _, k := range pathKeys {
		req.Path[k] = r.PathValue(k)
	}
	for k, vs := range r.URL.Query() {
		req.Query[k] = vs[0]
	}
	if r.Method == http.MethodGet || r.Method == http.MethodDelete && r.ContentLength <= 0 {
		return req, true
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, MaxBodyBytes))
	var tooBig *http.MaxBytesError
	switch {
	case errors.As(err, &tooBig):
		httpfx.WriteProblem(w, http.StatusRequestEntityTooLarge, "Request Entity Too Large",
			"the body is larger than 1 MiB", fieldErrors(rpc.FieldError{Field: "body", Message: "larger than 1 MiB"}))
		return req, false
	case errors.Is(err, os.ErrDeadlineExceeded):
		httpfx.WriteProblem(w, http.StatusRequestTimeout, "Request Timeout", "the body took too long to arrive",
			fieldErrors(rpc.FieldError{Field: "body", Message: "not sent within the body deadline"}))
		return req, false
	case err != nil:
		httpfx.WriteProblem(w, http.StatusBadRequest, "Bad Request", "the body could not be read", nil)
		return req, false
	case len(body) > 0 && !json.Valid(body):
		httpfx.WriteProblem(w, http.StatusBadRequest, "Bad Request", "the body is not valid JSON",
			fieldErrors(rpc.FieldError{Field: "body", Message: "not valid JSON"}))
		return req, false
	}
	req.Body = body
	return req, true
}

// WriteReply writes an rpc reply as JSON or as problem+json, with the
// headers the service set (ETag, Location).
func WriteReply(w http.ResponseWriter, log *slog.Logger, rep rpc.Reply) {
	for k, v := range rep.Headers {
		if replyHeaders[k] {
			w.Header().Set(k, v)
		}
	}
	if rep.Problem != nil {
		var extra map[string]any
		if len(rep.Problem.Errors) > 0 {
			extra = fieldErrors(rep.Problem.Errors...)
		}
		httpfx.WriteProblem(w, rep.Status, rep.Problem.Title, rep.Problem.Detail, extra)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(rep.Status)
	if _, err := w.Write(rep.Body); err != nil {
		log.Warn("response not written", "error", err)
	}
}

// replyHeaders are the headers a service may set on its answer.
var replyHeaders = map[string]bool{"ETag": true, "Location": true}

func fieldErrors(errs ...rpc.FieldError) map[string]any {
	return map[string]any{"errors": errs}
}
