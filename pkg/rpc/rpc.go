// Package rpc is how the gateway hands an API call to the service that
// owns the resource: a NATS request/reply carrying the authenticated
// principal, path values, query and body, answered with a status, a body
// or an RFC 9457 problem. Services stay the only readers of their state.
package rpc

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"sync"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/micro"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"

	"github.com/pave-platform/pave/pkg/authn"
)

// Request is one API call.
type Request struct {
	Principal authn.Principal   `json:"principal"`
	Path      map[string]string `json:"path,omitempty"`
	Query     map[string]string `json:"query,omitempty"`
	Body      json.RawMessage   `json:"body,omitempty"`
	// IfMatch is the HTTP If-Match header of an update: the ETag the
	// caller last read. A service that answers ETags refuses a stale one
	// with 412 (see PreconditionFailed); empty means unconditional.
	IfMatch string `json:"if_match,omitempty"`
}

// FieldError names a field of the input and what is wrong with it.
type FieldError struct {
	Field   string `json:"field"`
	Message string `json:"message"`
}

// Problem is the error half of a reply.
type Problem struct {
	Title  string       `json:"title"`
	Detail string       `json:"detail"`
	Errors []FieldError `json:"errors,omitempty"`
}

// Reply is the answer: Status with Body, or Status with Problem.
type Reply struct {
	Status  int             `json:"status"`
	Body    json.RawMessage `json:"body,omitempty"`
	Problem *Problem        `json:"problem,omitempty"`
	// Headers are HTTP response headers the gateway sets (ETag, Location).
	Headers map[string]string `json:"headers,omitempty"`
}

// Handler serves one endpoint.
type Handler func(ctx context.Context, req Request) Reply

// OK answers status with v as the JSON body.
func OK(status int, v any) Reply {
	raw, err := json.Marshal(v)
	if err != nil {
		return Fail(http.StatusInternalServerError, "Internal error", "the answer could not be encoded")
	}
	return Reply{Status: status, Body: raw}
}

// Fail answers a problem.
func Fail(status int, title, detail string, errs ...FieldError) Reply {
	return Reply{Status: status, Problem: &Problem{Title: title, Detail: detail, Errors: errs}}
}

// Invalid is the 422 answer for input that names its bad fields; the
// detail quotes the first.
func Invalid(errs ...FieldError) Reply {
	return Fail(http.StatusUnprocessableEntity, "Invalid request", errs[0].Field+": "+errs[0].Message, errs...)
}

// NotFound is the answer for a missing resource, and for one of another
// team: a team never learns that another team's resource exists.
func NotFound(kind, id string) Reply {
	return Fail(http.StatusNotFound, "Not Found", fmt.Sprintf("no %s %q", kind, id))
}

// maxConcurrent bounds the calls one service answers at once.
const maxConcurrent = 64

// Endpoint binds a subject to a handler.
type Endpoint struct {
	Name    string
	Subject string
	Handler Handler
}

// Server is a running micro service whose Stop also waits for the calls
// in flight.
type Server struct {
	micro.Service
	inflight sync.WaitGroup
}

// Stop stops taking calls and waits for those in flight.
func (s *Server) Stop() error {
	err := s.Service.Stop()
	s.inflight.Wait()
	return err
}

// Serve answers the endpoints as one NATS micro service; replicas share
// the load through the service's queue group.
func Serve(nc *nats.Conn, name, version string, log *slog.Logger, eps ...Endpoint) (*Server, error) {
	svc, err := micro.AddService(nc, micro.Config{Name: name, Version: version})
	if err != nil {
		return nil, fmt.Errorf("serve %s: %w", name, err)
	}
	srv := &Server{Service: svc}
	// micro calls a handler on its subscription's goroutine, one request
	// at a time; calls run concurrently instead, up to a bound.
	slots := make(chan struct{}, maxConcurrent)
	for _, ep := range eps {
		h := ep.Handler
		serve := func(m micro.Request) {
			slots <- struct{}{}
			srv.inflight.Go(func() {
				defer func() { <-slots }()
				serveOne(name, m, h, log)
			})
		}
		err := svc.AddEndpoint(ep.Name, micro.HandlerFunc(serve),
			micro.WithEndpointSubject(ep.Subject))
		if err != nil {
			_ = srv.Stop()
			return nil, fmt.Errorf("serve %s %s: %w", name, ep.Subject, err)
		}
	}
	return srv, nil
}

func serveOne(service string, m micro.Request, h Handler, log *slog.Logger) {
	var req Request
	var rep Reply
	ctx, span := startServer(context.Background(), service, m.Subject(), m.Headers())
	defer span.End()
	if err := json.Unmarshal(m.Data(), &req); err != nil {
		rep = Fail(http.StatusBadRequest, "Bad Request", "the request envelope is not valid JSON")
	} else {
		ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
		rep = safeCall(ctx, h, req, log)
		cancel()
	}
	span.SetAttributes(attribute.Int("rpc.status", rep.Status))
	if rep.Status >= 500 {
		span.SetStatus(codes.Error, http.StatusText(rep.Status))
	}
	if err := m.RespondJSON(rep); err != nil {
		log.Warn("rpc reply not sent", "subject", m.Subject(), "error", err)
	}
}

func safeCall(ctx context.Context, h Handler, req Request, log *slog.Logger) (rep Reply) {
	defer func() {
		if r := recover(); r != nil {
			log.Error("rpc handler panic", "panic", r)
			rep = Fail(http.StatusInternalServerError, "Internal error", "the service failed on this request")
		}
	}()
	return h(ctx, req)
}

// Call sends a request and waits for the reply.
func Call(ctx context.Context, nc *nats.Conn, subject string, req Request) (Reply, error) {
	raw, err := json.Marshal(req)
	if err != nil {
		return Reply{}, err
	}
	out := nats.NewMsg(subject)
	out.Data = raw
	ctx, span := startClient(ctx, out)
	defer span.End()
	msg, err := nc.RequestMsgWithContext(ctx, out)
	if err != nil {
		span.SetStatus(codes.Error, err.Error())
		return Reply{}, fmt.Errorf("call %s: %w", subject, err)
	}
	var rep Reply
	if err := json.Unmarshal(msg.Data, &rep); err != nil {
		return Reply{}, fmt.Errorf("call %s: reply: %w", subject, err)
	}
	return rep, nil
}
