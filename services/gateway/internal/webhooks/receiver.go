package webhooks

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"time"

	"github.com/cloudevents/sdk-go/v2/event"

	"github.com/pave-platform/pave/pkg/bus"
	"github.com/pave-platform/pave/pkg/dedup"
	"github.com/pave-platform/pave/pkg/events"
	"github.com/pave-platform/pave/pkg/httpfx"
)

// MaxBodyBytes bounds a delivery's body; larger ones get 413.
const MaxBodyBytes = 1 << 20

// storeTimeout bounds the durable store, so every answer is in time for
// senders that give up after 10 s (GitHub) and well inside one second
// when JetStream is healthy.
const storeTimeout = 800 * time.Millisecond

// Publisher stores an event and waits for the stream's acknowledgement.
type Publisher interface {
	Publish(ctx context.Context, e event.Event) error
}

// Receiver answers POST /v1/webhooks/{github,gitlab,ci}: verify the
// signature, drop a replay, store the delivery on CMD_GATEWAY, answer.
// The work happens later, in the Processor.
type Receiver struct {
	repos   *Repositories
	seen    dedup.Store
	pub     Publisher
	log     *slog.Logger
	metrics *Metrics
	now     func() time.Time
}

// NewReceiver builds a receiver.
func NewReceiver(repos *Repositories, seen dedup.Store, pub Publisher, log *slog.Logger, m *Metrics) *Receiver {
	return &Receiver{repos: repos, seen: seen, pub: pub, log: log, metrics: m, now: time.Now}
}

// Handler routes the three providers; any other path is 404.
func (rc *Receiver) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("POST /v1/webhooks/github", func(w http.ResponseWriter, r *http.Request) {
		rc.serve(w, r, events.ProviderGitHub, rc.checkGitHub)
	})
	mux.HandleFunc("POST /v1/webhooks/gitlab", func(w http.ResponseWriter, r *http.Request) {
		rc.serve(w, r, events.ProviderGitLab, rc.checkGitLab)
	})
	mux.HandleFunc("POST /v1/webhooks/ci", func(w http.ResponseWriter, r *http.Request) {
		rc.serve(w, r, events.ProviderCI, rc.checkCI)
	})
	mux.HandleFunc("/v1/webhooks/", func(w http.ResponseWriter, r *http.Request) {
		httpfx.WriteProblem(w, http.StatusNotFound, "Not Found",
			"no webhook receiver "+r.Method+" "+r.URL.Path+" (receivers: POST /v1/webhooks/github, /gitlab, /ci)", nil)
	})
	return mux
}

// delivery is a verified delivery ready to be stored.
type delivery struct {
	event, id, repository string
	ping, unsupported     bool
}

// refusal is an answer other than storing: a problem, or ping/ignore.
type refusal struct {
	status         int
	field, message string
}

func (f *refusal) outcome() string {
	if f.status >= 500 {
		return "error"
	}
	return "rejected"
}

func refuse(status int, field, message string) *refusal {
	return &refusal{status: status, field: field, message: message}
}

type checkFunc func(r *http.Request, body []byte) (delivery, *refusal)

func (rc *Receiver) serve(w http.ResponseWriter, r *http.Request, provider string, check checkFunc) {
	start := rc.now()
	outcome := "error"
	defer func() { rc.metrics.record(r.Context(), provider, outcome, time.Since(start)) }()
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, MaxBodyBytes))
	var tooBig *http.MaxBytesError
	switch {
	case errors.As(err, &tooBig):
		outcome = "rejected"
		writeRefusal(w, refuse(http.StatusRequestEntityTooLarge, "body", "larger than 1 MiB"))
		return
	case err != nil:
		outcome = "rejected"
		writeRefusal(w, refuse(http.StatusBadRequest, "body", "could not be read"))
		return
	}
	d, ref := check(r, body)
	if ref != nil {
		outcome = ref.outcome()
		rc.log.InfoContext(r.Context(), "webhook refused", "provider", provider, "status", ref.status, "field", ref.field, "reason", ref.message)
		writeRefusal(w, ref)
		return
	}
	switch {
	case d.ping:
		outcome = "ping"
		writeJSON(w, http.StatusOK, map[string]any{"ping": "pong", "repository": d.repository})
		return
	case d.unsupported:
		// Not stored and nothing done: an event type Pave does not act on.
		outcome = "ignored"
		rc.log.InfoContext(r.Context(), "webhook event not handled", "provider", provider, "event", d.event, "delivery", d.id)
		w.WriteHeader(http.StatusNoContent)
		return
	}
	outcome = rc.store(w, r, provider, d, body)
}

// store claims the delivery id, stores the delivery and answers. A
// delivery that could not be stored is released, so a retry is taken.
func (rc *Receiver) store(w http.ResponseWriter, r *http.Request, provider string, d delivery, body []byte) string {
	ctx, cancel := context.WithTimeout(r.Context(), storeTimeout)
	defer cancel()
	key := provider + "/" + d.id
	first, err := rc.seen.Claim(ctx, key)
	if err != nil {
		rc.log.ErrorContext(ctx, "claim webhook delivery", "provider", provider, "delivery", d.id, "error", err)
		unavailable(w)
		return "error"
	}
	if !first {
		rc.log.InfoContext(ctx, "duplicate webhook delivery ignored", "provider", provider, "delivery", d.id, "repository", d.repository)
		writeJSON(w, http.StatusOK, map[string]any{"delivery_id": d.id, "duplicate": true})
		return "duplicate"
	}
	e, err := deliveryEvent(provider, d, body, rc.now())
	if err == nil {
		err = rc.pub.Publish(ctx, e)
	}
	if err != nil {
		rc.log.ErrorContext(ctx, "store webhook delivery", "provider", provider, "delivery", d.id, "error", err)
		rctx, rcancel := context.WithTimeout(context.WithoutCancel(ctx), 2*time.Second)
		defer rcancel()
		if rerr := rc.seen.Release(rctx, key); rerr != nil {
			rc.log.ErrorContext(ctx, "release webhook delivery claim", "delivery", d.id, "error", rerr)
		}
		unavailable(w)
		return "error"
	}
	writeJSON(w, http.StatusAccepted, map[string]any{"delivery_id": d.id, "status": "stored"})
	return "stored"
}

// storedDelivery is the stored form of a delivery: the body stays the
// bytes the signature covered.
type storedDelivery = events.WebhookCommand

func deliveryEvent(provider string, d delivery, body []byte, now time.Time) (event.Event, error) {
	e, err := bus.NewEvent("webhook/"+provider+"/"+d.id, "pave/gateway/webhooks/"+provider, events.TypeWebhookCommand,
		storedDelivery{Provider: provider, DeliveryID: d.id, Event: d.event, Repository: d.repository,
			ReceivedAt: now.UTC(), Body: body})
	if err != nil {
		return event.Event{}, err
	}
	// One repository's deliveries are handled in order.
	e.SetSubject(provider + ":" + d.repository)
	return e, nil
}

func unavailable(w http.ResponseWriter) {
	w.Header().Set("Retry-After", "1")
	httpfx.WriteProblem(w, http.StatusServiceUnavailable, "Service Unavailable",
		"the delivery could not be stored; it was not recorded, send it again", nil)
}

func writeRefusal(w http.ResponseWriter, f *refusal) {
	if f.status == http.StatusUnauthorized {
		w.Header().Set("WWW-Authenticate", `HMAC realm="pave-webhooks"`)
	}
	httpfx.WriteProblem(w, f.status, "", f.field+": "+f.message,
		map[string]any{"errors": []httpfx.FieldViolation{{Field: f.field, Message: f.message}}})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}
