package ports

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/cloudevents/sdk-go/v2/event"

	"github.com/pave-platform/pave/pkg/authn"
	"github.com/pave-platform/pave/pkg/bus"
	"github.com/pave-platform/pave/pkg/config"
	"github.com/pave-platform/pave/pkg/httpfx"
	"github.com/pave-platform/pave/pkg/policy"
	"github.com/pave-platform/pave/pkg/schema"
	"github.com/pave-platform/pave/services/gateway/internal/ingress"
)

// IngressConfig says which event types service accounts may post.
type IngressConfig struct {
	// AllowedTypes: entries "<team>/<name>=<type>|<type>", "<team>/*=..."
	// or "*=...", comma-separated; a type may end in ".*". Platform admins
	// may post any known type; a service account only what is listed.
	AllowedTypes map[string]string `env:"PAVE_INGEST_ALLOWED_TYPES" envSeparator:"," envKeyValSeparator:"="`
}

// Validate names an entry that can never match a service account.
func (c IngressConfig) Validate() error {
	for k, v := range c.AllowedTypes {
		team, name, ok := strings.Cut(strings.TrimSpace(k), "/")
		if k != "*" && (!ok || team == "" || name == "" || strings.Contains(name, "/")) {
			return config.Invalid("PAVE_INGEST_ALLOWED_TYPES", fmt.Sprintf("entry %q: the key must be <team>/<name>, <team>/* or *", k))
		}
		if strings.Trim(v, "| ") == "" {
			return config.Invalid("PAVE_INGEST_ALLOWED_TYPES", fmt.Sprintf("entry %q: no event types after =", k))
		}
	}
	return nil
}

// ingressRules are the CloudEvents ingress route's action and resource.
var ingressRules = map[string]resolver{
	"POST /v1/events": onPlatform("event:ingest"),
}

// EventRegistry is what ingress validates events with: Pave's types and,
// when the gateway has them, the teams' custom ones.
type EventRegistry interface {
	Has(eventType string) bool
	Validate(eventType string, data []byte) error
}

// IngressPublisher stores an ingress event on an explicit subject.
type IngressPublisher interface {
	PublishOn(ctx context.Context, subject string, e event.Event) error
}

// registerIngress adds POST /v1/events: binary, structured and batch
// content modes; 202 with the ids once every event is stored on INGRESS.
func registerIngress(mux *http.ServeMux, d Deps, cfg IngressConfig) {
	mux.Handle("POST /v1/events", ingressHandler(d, cfg))
}

func ingressHandler(d Deps, cfg IngressConfig) http.Handler {
	var reg EventRegistry = d.Registry
	if d.Events != nil {
		reg = d.Events
	}
	pub, err := bus.New(d.NC, reg, schema.SubjectFor, bus.WithLogger(d.Log))
	if err != nil {
		// Only reached without a NATS connection.
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			d.Log.ErrorContext(r.Context(), "events ingress unavailable", "error", err)
			httpfx.WriteProblem(w, http.StatusServiceUnavailable, "Service Unavailable", "the events ingress is not configured", nil)
		})
	}
	replicas := 1
	if d.Config != nil {
		replicas = d.Config.KVReplicas
	}
	return ingestEvents(reg, pub, ingress.ParseAllowedTypes(cfg.AllowedTypes), door{d.Caller, ingress.NewStamper(d.JS, replicas)}, d.Log)
}

func ingestEvents(reg ingress.Registry, pub IngressPublisher, allowed ingress.AllowedTypes, dr door, log *slog.Logger) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, MaxBodyBytes))
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			httpfx.WriteProblem(w, http.StatusRequestEntityTooLarge, "Request Entity Too Large", "the body is larger than 1 MiB",
				map[string]any{"errors": []ingress.Issue{{Field: "body", Message: "larger than 1 MiB"}}})
			return
		}
		evs, bad := ingress.Parse(reg, r.Header, body)
		if bad != nil {
			writeBadEvent(w, bad)
			return
		}
		p, _ := PrincipalFrom(r.Context())
		for i, e := range evs {
			if !mayIngest(p, allowed, e.Type()) {
				httpfx.WriteProblem(w, http.StatusForbidden, "Forbidden",
					fmt.Sprintf("event [%d]: %s may not send events of type %s", i, p.ID, e.Type()),
					map[string]any{"index": i, "errors": []ingress.Issue{{Field: indexed(len(evs) > 1, i, "type"), Message: "not allowed for " + p.ID}}})
				return
			}
		}
		ctx, cancel := context.WithTimeout(r.Context(), 5*time.Second)
		defer cancel()
		if !dr.bindAll(ctx, w, p, evs, log) {
			return
		}
		ids := make([]string, len(evs))
		for i, e := range evs {
			if err := pub.PublishOn(ctx, ingress.Subject(e.Type()), e); err != nil {
				log.ErrorContext(ctx, "store ingress event", "event_id", e.ID(), "error", err)
				w.Header().Set("Retry-After", "1")
				httpfx.WriteProblem(w, http.StatusServiceUnavailable, "Service Unavailable",
					"the events could not all be stored; send the request again (stored ones are deduplicated by id)", nil)
				return
			}
			ids[i] = e.ID()
		}
		writeJSON(w, log, http.StatusAccepted, map[string]any{"ids": ids})
	})
}

// mayIngest: platform admins send any known type; service accounts what
// PAVE_INGEST_ALLOWED_TYPES lists for them; a team's custom types
// (pave.custom.<team>.…) its developers and service accounts of
// developer rank or more, and no one else.
func mayIngest(p authn.Principal, allowed ingress.AllowedTypes, eventType string) bool {
	if p.IsPlatformAdmin() {
		return true
	}
	if team, ok := ingress.CustomTeam(eventType); ok {
		return policy.RoleRank(p.TeamRoles[team]) >= policy.RoleRank("developer")
	}
	return p.Kind == authn.KindServiceAccount && allowed.Allows(p.ID, eventType)
}

func indexed(batch bool, i int, field string) string {
	if !batch {
		return field
	}
	return fmt.Sprintf("[%d].%s", i, field)
}

func writeBadEvent(w http.ResponseWriter, bad *ingress.BadEvent) {
	errs := make([]ingress.Issue, len(bad.Issues))
	for i, is := range bad.Issues {
		errs[i] = ingress.Issue{Field: indexed(bad.Index >= 0, bad.Index, is.Field), Message: is.Message}
	}
	extra := map[string]any{"errors": errs}
	if bad.Index >= 0 {
		extra["index"] = bad.Index
	}
	httpfx.WriteProblem(w, http.StatusBadRequest, "Malformed CloudEvent", bad.Error(), extra)
}
