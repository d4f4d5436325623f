package portal

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
)

// API is the gateway's own /v1 handler. The portal calls it in-process,
// with the signed-in user's token as the Authorization header, so every
// rule of authentication, access, validation, rate limiting and audit
// applies to a page exactly as to a CLI call: the portal has no other way
// to the platform.
type API struct {
	Handler http.Handler
}

// Problem is an RFC 9457 problem body; Errors name the fields at fault.
type Problem struct {
	Status int          `json:"status"`
	Title  string       `json:"title"`
	Detail string       `json:"detail"`
	Errors []FieldError `json:"errors"`
}

// FieldError is one field the API refused.
type FieldError struct {
	Field   string `json:"field"`
	Message string `json:"message"`
}

func (p *Problem) Error() string {
	if p.Detail != "" {
		return p.Title + ": " + p.Detail
	}
	return p.Title
}

// ByField maps each named field to its messages.
func (p *Problem) ByField() map[string]string {
	out := map[string]string{}
	for _, e := range p.Errors {
		if out[e.Field] != "" {
			out[e.Field] += "; "
		}
		out[e.Field] += e.Message
	}
	return out
}

// call is one request to the API as the user of token. It answers the
// status and body; a status of 400 or more is a *Problem.
func (a API) call(ctx context.Context, token, method, path string, q url.Values, body any) ([]byte, error) {
	return a.do(ctx, token, method, path, q, body, "application/json")
}

// callAccept is call for an answer of another media type (a CSV export).
func (a API) callAccept(ctx context.Context, token, method, path string, q url.Values, accept string) ([]byte, error) {
	return a.do(ctx, token, method, path, q, nil, accept)
}

func (a API) do(ctx context.Context, token, method, path string, q url.Values, body any, accept string) ([]byte, error) {
	var rd io.Reader = http.NoBody
	if body != nil {
		raw, err := json.Marshal(body)
		if err != nil {
			return nil, fmt.Errorf("encode %s %s: %w", method, path, err)
		}
		rd = bytes.NewReader(raw)
	}
	target := path
	if len(q) > 0 {
		target += "?" + q.Encode()
	}
	req, err := http.NewRequestWithContext(ctx, method, target, rd)
	if err != nil {
		return nil, fmt.Errorf("build %s %s: %w", method, path, err)
	}
	req.Header.Set("Authorization", "Bearer "+token)
	req.Header.Set("Accept", accept)
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	rec := &recorder{header: http.Header{}, status: http.StatusOK}
	a.Handler.ServeHTTP(rec, req)
	if rec.status >= 400 {
		p := &Problem{Status: rec.status, Title: http.StatusText(rec.status)}
		_ = json.Unmarshal(rec.body.Bytes(), p)
		p.Status = rec.status
		return nil, p
	}
	return rec.body.Bytes(), nil
}

// get decodes the answer of GET path into out.
func (a API) get(ctx context.Context, token, path string, q url.Values, out any) error {
	raw, err := a.call(ctx, token, http.MethodGet, path, q, nil)
	if err != nil {
		return err
	}
	if err := json.Unmarshal(raw, out); err != nil {
		return fmt.Errorf("decode GET %s: %w", path, err)
	}
	return nil
}

// stream serves GET path (server-sent events) straight to w, as the user
// of token: the browser's EventSource cannot send a bearer token.
func (a API) stream(w http.ResponseWriter, r *http.Request, token, path string) {
	req, err := http.NewRequestWithContext(r.Context(), http.MethodGet, path, http.NoBody)
	if err != nil {
		http.Error(w, "bad path", http.StatusBadRequest)
		return
	}
	req.Header.Set("Authorization", "Bearer "+token)
	req.Header.Set("Accept", "text/event-stream")
	if last := r.Header.Get("Last-Event-ID"); last != "" {
		req.Header.Set("Last-Event-ID", last)
	}
	a.Handler.ServeHTTP(w, req)
}

// seg escapes one path segment.
func seg(s string) string { return url.PathEscape(s) }

// recorder keeps an in-process answer.
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

// Flush lets a stream (the timeline's replay of the event stream) write
// into the recorder: it keeps everything anyway.
func (r *recorder) Flush() {}

func (r *recorder) Write(b []byte) (int, error) {
	r.wrote = true
	return r.body.Write(b)
}

// isStatus says whether err is a problem with one of the statuses.
func isStatus(err error, statuses ...int) bool {
	p, ok := err.(*Problem)
	if !ok {
		return false
	}
	for _, s := range statuses {
		if p.Status == s {
			return true
		}
	}
	return false
}

// firstLine keeps a message to one line for a banner.
func firstLine(s string) string {
	line, _, _ := strings.Cut(s, "\n")
	return line
}
