// Package openapicheck checks every request and response that passes
// through the gateway against schemas/openapi.yaml, so the spec cannot
// drift from what the API does. It is for tests (PAVE_OPENAPI_CHECK=
// strict): it buffers each response to validate it.
//
// A response that does not match the spec is a violation. A request
// that does not match it is a violation only when the gateway accepted
// it (a status below 400): the spec may forbid what clients send, but
// then the gateway must refuse it too.
package openapicheck

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/pb33f/libopenapi"
	validator "github.com/pb33f/libopenapi-validator"
	"github.com/pb33f/libopenapi-validator/config"
	verrors "github.com/pb33f/libopenapi-validator/errors"
	"github.com/pb33f/libopenapi-validator/helpers"
)

// Header names the violations of a response, so a test client sees them
// next to the call that caused them.
const Header = "Pave-Openapi-Violation"

// SpecPath is the spec, relative to the repository root.
const SpecPath = "schemas/openapi.yaml"

// Checker validates traffic against a spec and keeps the violations.
type Checker struct {
	mu         sync.Mutex
	v          validator.Validator
	log        *slog.Logger
	violations []string
}

// New builds a checker from an OpenAPI 3.1 document.
func New(spec []byte, log *slog.Logger) (*Checker, error) {
	doc, err := libopenapi.NewDocument(spec)
	if err != nil {
		return nil, fmt.Errorf("read openapi spec: %w", err)
	}
	v, errs := validator.NewValidator(doc, config.WithoutSecurityValidation())
	if len(errs) > 0 {
		return nil, fmt.Errorf("build openapi validator: %w", errors.Join(errs...))
	}
	if ok, verrs := v.ValidateDocument(); !ok {
		return nil, fmt.Errorf("openapi spec is not valid: %s", describe(verrs))
	}
	return &Checker{v: v, log: log}, nil
}

// Load finds schemas/openapi.yaml in the working directory or one above
// it (tests run in their package's directory) and builds a checker.
func Load(log *slog.Logger) (*Checker, error) {
	dir, err := os.Getwd()
	if err != nil {
		return nil, fmt.Errorf("find %s: %w", SpecPath, err)
	}
	for {
		raw, err := os.ReadFile(filepath.Join(dir, SpecPath))
		if err == nil {
			return New(raw, log)
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return nil, fmt.Errorf("find %s: not in the working directory nor above it", SpecPath)
		}
		dir = parent
	}
}

// Violations are every violation seen so far.
func (c *Checker) Violations() []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]string(nil), c.violations...)
}

func (c *Checker) record(r *http.Request, status int, what string, errs []*verrors.ValidationError) string {
	msg := fmt.Sprintf("%s %s -> %d: %s: %s", r.Method, r.URL.RequestURI(), status, what, describe(errs))
	c.mu.Lock()
	c.violations = append(c.violations, msg)
	c.mu.Unlock()
	if c.log != nil {
		c.log.Error("openapi violation", "violation", msg)
	}
	return msg
}

func describe(errs []*verrors.ValidationError) string {
	parts := make([]string, 0, len(errs))
	for _, e := range errs {
		s := e.Message
		if e.Reason != "" {
			s += " (" + e.Reason + ")"
		}
		for _, f := range e.SchemaValidationErrors {
			s += "; " + f.Error()
		}
		parts = append(parts, s)
	}
	return strings.Join(parts, " | ")
}

// Middleware checks every request and response of next.
func (c *Checker) Middleware(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		r.Body = io.NopCloser(bytes.NewReader(body))
		copyReq := r.Clone(r.Context())
		copyReq.Body = io.NopCloser(bytes.NewReader(body))
		reqOK, reqErrs := c.v.ValidateHttpRequestSync(copyReq)

		rec := &recorder{w: w, header: http.Header{}, status: http.StatusOK}
		next.ServeHTTP(rec, r)
		if rec.streaming {
			// An event stream went straight out; only its request and
			// status are checked.
			if !reqOK && rec.status < 400 {
				c.record(r, rec.status, "request does not match the spec but was accepted", reqErrs)
			}
			return
		}
		var found []string
		if rec.status >= 400 && unknownRoute(reqErrs) {
			// A route the spec does not have, refused: nothing to check
			// the answer against.
			c.passThrough(w, rec)
			return
		}
		if !reqOK && rec.status < 400 {
			found = append(found, c.record(r, rec.status, "request does not match the spec but was accepted", reqErrs))
		}
		resp := &http.Response{StatusCode: rec.status, Header: rec.header.Clone(), Request: r,
			Body: io.NopCloser(bytes.NewReader(rec.body.Bytes())), ContentLength: int64(rec.body.Len())}
		respReq := r.Clone(r.Context())
		respReq.Body = io.NopCloser(bytes.NewReader(body))
		if ok, errs := c.v.ValidateHttpResponse(respReq, resp); !ok {
			found = append(found, c.record(r, rec.status, "response does not match the spec", errs))
		}
		for _, f := range found {
			w.Header().Add(Header, sanitize(f))
		}
		c.passThrough(w, rec)
	})
}

// passThrough writes the buffered answer out.
func (c *Checker) passThrough(w http.ResponseWriter, rec *recorder) {
	for k, vs := range rec.header {
		w.Header()[k] = vs
	}
	w.WriteHeader(rec.status)
	_, _ = w.Write(rec.body.Bytes())
}

// unknownRoute says whether the request's path or method is not in the spec.
func unknownRoute(errs []*verrors.ValidationError) bool {
	for _, e := range errs {
		if e.ValidationType == helpers.PathValidation {
			return true
		}
	}
	return false
}

// sanitize makes a violation fit in a header value.
func sanitize(s string) string {
	s = strings.Map(func(r rune) rune {
		if r < 0x20 || r > 0x7e {
			return ' '
		}
		return r
	}, s)
	if len(s) > 2000 {
		s = s[:2000]
	}
	return s
}

// recorder buffers a response, except an event stream, which it passes
// straight through once its headers say so.
type recorder struct {
	w         http.ResponseWriter
	header    http.Header
	status    int
	wrote     bool
	streaming bool
	body      bytes.Buffer
}

func (r *recorder) Header() http.Header {
	if r.streaming {
		return r.w.Header()
	}
	return r.header
}

func (r *recorder) WriteHeader(status int) {
	if r.wrote {
		return
	}
	r.wrote, r.status = true, status
	if strings.HasPrefix(r.header.Get("Content-Type"), "text/event-stream") {
		r.streaming = true
		for k, vs := range r.header {
			r.w.Header()[k] = vs
		}
		r.w.WriteHeader(status)
	}
}

func (r *recorder) Write(p []byte) (int, error) {
	if !r.wrote {
		r.WriteHeader(http.StatusOK)
	}
	if r.streaming {
		return r.w.Write(p)
	}
	return r.body.Write(p)
}

// Flush passes through for an event stream; a buffered response is
// written at the end anyway.
func (r *recorder) Flush() {
	if r.streaming {
		_ = http.NewResponseController(r.w).Flush()
	}
}

// SetWriteDeadline lets a stream lift the server's write timeout.
func (r *recorder) SetWriteDeadline(t time.Time) error {
	if r.streaming {
		return http.NewResponseController(r.w).SetWriteDeadline(t)
	}
	return nil
}

// Unwrap gives http.ResponseController the real writer.
func (r *recorder) Unwrap() http.ResponseWriter {
	if r.streaming {
		return r.w
	}
	return nil
}
