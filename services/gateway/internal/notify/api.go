package notify

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"time"

	"github.com/cloudevents/sdk-go/v2/event"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/pave-platform/pave/pkg/authn"
	"github.com/pave-platform/pave/pkg/kv"
	"github.com/pave-platform/pave/pkg/rpc"
	"github.com/pave-platform/pave/services/gateway/internal/notify/domain"
	"github.com/pave-platform/pave/services/gateway/internal/ports"
)

// API answers the /v1/subscriptions and /v1/alerts routes. The gateway's
// authorization has decided each request before it gets here (ports,
// routes_notify.go): an id's scope is its first part, so a subscription
// of another team is a 404 there.
type API struct {
	cfg    Config
	st     *Stores
	index  *Index
	guard  Guard
	fanout *Fanout
	js     jetstream.JetStream
	log    *slog.Logger
}

// NewAPI is the HTTP side of notify.
func NewAPI(cfg Config, st *Stores, index *Index, fanout *Fanout, js jetstream.JetStream, log *slog.Logger) *API {
	return &API{cfg: cfg, st: st, index: index, guard: NewGuard(cfg), fanout: fanout, js: js, log: log}
}

// Handler routes the notify requests (patterns as registered in ports).
func (a *API) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("POST /v1/subscriptions", a.create)
	mux.HandleFunc("GET /v1/subscriptions", a.list)
	mux.HandleFunc("GET /v1/subscriptions/{id}", a.get)
	mux.HandleFunc("DELETE /v1/subscriptions/{id}", a.remove)
	mux.HandleFunc("POST /v1/subscriptions/{id}/rotate", a.rotate)
	mux.HandleFunc("POST /v1/subscriptions/{id}/enable", a.enable)
	mux.HandleFunc("GET /v1/subscriptions/{id}/deliveries", a.deliveries)
	mux.HandleFunc("POST /v1/subscriptions/{id}/replay", a.replay)
	mux.HandleFunc("GET /v1/alerts", a.alerts)
	mux.HandleFunc("POST /v1/alerts/{id}/ack", a.ack)
	return mux
}

// view is a subscription as GET shows it: never its secrets.
type view struct {
	domain.Subscription
	Secrets any `json:"secrets,omitempty"`
	// SecretsValid counts the secrets that sign deliveries now.
	SecretsValid int `json:"secrets_valid"`
}

func viewOf(s domain.Subscription) view {
	return view{Subscription: s, SecretsValid: len(s.ValidSecrets(time.Now()))}
}

func (a *API) create(w http.ResponseWriter, r *http.Request) {
	p, _ := ports.PrincipalFrom(r.Context())
	var req domain.Request
	if !decode(w, r, &req) {
		return
	}
	secret, err := domain.NewSecret()
	if err != nil {
		a.fail(w, err)
		return
	}
	now := time.Now()
	sub, err := domain.NewSubscription(req, NewID(domain.ScopeOf(req.Team)), p.ID, secret, now)
	if err != nil {
		invalid(w, err)
		return
	}
	if err := a.checkDestination(r.Context(), sub.URL); err != nil {
		ports.WriteReply(w, a.log, rpc.Invalid(rpc.FieldError{Field: "url", Message: err.Error()}))
		return
	}
	if _, err := a.st.Subs.Create(r.Context(), sub.ID, sub); err != nil {
		a.fail(w, err)
		return
	}
	a.index.Put(sub)
	// The secret is shown here, once.
	out := viewOf(sub)
	out.Secrets = nil
	writeJSON(w, http.StatusCreated, struct {
		view
		Secret string `json:"secret"`
	}{out, secret})
}

// checkDestination refuses a URL the deliverer would not dial.
func (a *API) checkDestination(ctx context.Context, raw string) error {
	u, _ := url.Parse(raw)
	if u.Scheme != "https" && !a.cfg.AllowHTTP {
		return errors.New("must be https")
	}
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	return a.guard.CheckURL(ctx, raw)
}

func (a *API) list(w http.ResponseWriter, r *http.Request) {
	p, _ := ports.PrincipalFrom(r.Context())
	scopes, ok := scopesOf(w, r, p)
	if !ok {
		return
	}
	var out []view
	for _, f := range filters(scopes) {
		es, err := a.st.Subs.List(r.Context(), f)
		if err != nil {
			a.fail(w, err)
			return
		}
		for _, e := range es {
			out = append(out, viewOf(e.Value))
		}
	}
	slices.SortFunc(out, func(x, y view) int { return x.CreatedAt.Compare(y.CreatedAt) })
	writeJSON(w, http.StatusOK, map[string]any{"items": orEmpty(out)})
}

// scopesOf: ?team= names one; without it a platform admin sees every
// scope and anyone else their teams (nil: all).
func scopesOf(w http.ResponseWriter, r *http.Request, p authn.Principal) ([]string, bool) {
	if t := r.URL.Query().Get("team"); t != "" {
		return []string{t}, true
	}
	if p.IsPlatformAdmin() {
		return nil, true
	}
	return p.Teams, true
}

func filters(scopes []string) []string {
	if scopes == nil {
		return []string{">"}
	}
	out := make([]string, len(scopes))
	for i, s := range scopes {
		out[i] = s + ".*"
	}
	return out
}

func (a *API) load(w http.ResponseWriter, r *http.Request) (domain.Subscription, uint64, bool) {
	id := r.PathValue("id")
	if !domain.ValidID(id) {
		ports.WriteReply(w, a.log, rpc.NotFound("subscription", id))
		return domain.Subscription{}, 0, false
	}
	s, rev, err := a.st.Subs.Get(r.Context(), id)
	if errors.Is(err, kv.ErrNotFound) {
		ports.WriteReply(w, a.log, rpc.NotFound("subscription", id))
		return s, 0, false
	}
	if err != nil {
		a.fail(w, err)
		return s, 0, false
	}
	return s, rev, true
}

func (a *API) get(w http.ResponseWriter, r *http.Request) {
	if s, _, ok := a.load(w, r); ok {
		writeJSON(w, http.StatusOK, viewOf(s))
	}
}

func (a *API) remove(w http.ResponseWriter, r *http.Request) {
	s, rev, ok := a.load(w, r)
	if !ok {
		return
	}
	if err := a.st.Subs.Delete(r.Context(), s.ID, rev); err != nil {
		a.fail(w, err)
		return
	}
	a.index.Delete(s.ID)
	w.WriteHeader(http.StatusNoContent)
}

func (a *API) rotate(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	if !domain.ValidID(id) {
		ports.WriteReply(w, a.log, rpc.NotFound("subscription", id))
		return
	}
	next, err := domain.NewSecret()
	if err != nil {
		a.fail(w, err)
		return
	}
	now := time.Now()
	s, _, err := a.st.Subs.Update(r.Context(), id, func(s *domain.Subscription) error {
		s.Rotate(next, now, a.cfg.RotationOverlap)
		return nil
	})
	if errors.Is(err, kv.ErrNotFound) {
		ports.WriteReply(w, a.log, rpc.NotFound("subscription", id))
		return
	}
	if err != nil {
		a.fail(w, err)
		return
	}
	a.index.Put(s)
	writeJSON(w, http.StatusOK, map[string]any{"id": s.ID, "secret": next, "previous_expires_at": s.Secrets[1].ExpiresAt})
}

// enable turns a disabled subscription on again; deliveries skipped
// while it was off can be sent with a replay.
func (a *API) enable(w http.ResponseWriter, r *http.Request) {
	s, _, ok := a.load(w, r)
	if !ok {
		return
	}
	s, _, err := a.st.Subs.Update(r.Context(), s.ID, func(s *domain.Subscription) error {
		if s.State == domain.StateActive {
			return kv.ErrUnchanged
		}
		s.State, s.FailingSince, s.DisabledAt, s.DisabledReason = domain.StateActive, nil, nil, ""
		return nil
	})
	if err != nil {
		a.fail(w, err)
		return
	}
	a.index.Put(s)
	writeJSON(w, http.StatusOK, viewOf(s))
}

func (a *API) deliveries(w http.ResponseWriter, r *http.Request) {
	s, _, ok := a.load(w, r)
	if !ok {
		return
	}
	limit, ok := limitOf(w, r)
	if !ok {
		return
	}
	es, err := a.st.Deliveries.List(r.Context(), s.ID+".*")
	if err != nil {
		a.fail(w, err)
		return
	}
	state := r.URL.Query().Get("state")
	out := make([]Delivery, 0, len(es))
	for _, e := range es {
		if state == "" || e.Value.State == state {
			out = append(out, e.Value)
		}
	}
	slices.SortFunc(out, func(x, y Delivery) int { return y.CreatedAt.Compare(x.CreatedAt) })
	omitted := max(len(out)-limit, 0)
	writeJSON(w, http.StatusOK, map[string]any{"items": out[:min(limit, len(out))], "omitted": omitted})
}

func limitOf(w http.ResponseWriter, r *http.Request) (int, bool) {
	raw := r.URL.Query().Get("limit")
	if raw == "" {
		return 100, true
	}
	n, err := strconv.Atoi(raw)
	if err != nil || n < 1 || n > 1000 {
		ports.WriteReply(w, nil, rpc.Fail(http.StatusBadRequest, "Bad Request", "limit: must be 1 to 1000",
			rpc.FieldError{Field: "limit", Message: "must be 1 to 1000"}))
		return 0, false
	}
	return n, true
}

type replayRequest struct {
	FromTime    *time.Time `json:"from_time"`
	FromEventID string     `json:"from_event_id"`
}

// replay re-sends, in order, every stored event the subscription matches
// from a time or from an event it was sent before (inclusive).
func (a *API) replay(w http.ResponseWriter, r *http.Request) {
	s, _, ok := a.load(w, r)
	if !ok {
		return
	}
	var req replayRequest
	if !decode(w, r, &req) {
		return
	}
	from, ok := a.replayStart(w, r, s, req)
	if !ok {
		return
	}
	if s.State != domain.StateActive {
		ports.WriteReply(w, a.log, rpc.Fail(http.StatusConflict, "Conflict", "the subscription is disabled: "+s.DisabledReason))
		return
	}
	rid := strconv.FormatInt(time.Now().UnixNano(), 36)
	queued := 0
	errFull := errors.New("full")
	for _, stream := range a.cfg.Streams {
		err := scanFrom(r.Context(), a.js, stream, from, func(e event.Event) error {
			if !s.Matches(domain.AttrsOf(e)) {
				return nil
			}
			if queued >= maxReplay {
				return errFull
			}
			queued++
			return a.fanout.command(r.Context(), e, mustJSON(e), s.ID, rid)
		})
		if errors.Is(err, errFull) {
			break
		}
		if err != nil {
			a.fail(w, err)
			return
		}
	}
	writeJSON(w, http.StatusAccepted, map[string]any{"replay": rid, "from": from, "queued": queued, "limit": maxReplay})
}

func (a *API) replayStart(w http.ResponseWriter, r *http.Request, s domain.Subscription, req replayRequest) (time.Time, bool) {
	switch {
	case (req.FromTime == nil) == (req.FromEventID == ""):
		ports.WriteReply(w, a.log, rpc.Invalid(rpc.FieldError{Field: "from_time", Message: "give from_time or from_event_id, one of them"}))
		return time.Time{}, false
	case req.FromTime != nil:
		return *req.FromTime, true
	}
	d, _, err := a.st.Deliveries.Get(r.Context(), deliveryKey(s.ID, req.FromEventID, ""))
	if errors.Is(err, kv.ErrNotFound) {
		ports.WriteReply(w, a.log, rpc.Invalid(rpc.FieldError{Field: "from_event_id",
			Message: "no delivery of this event to this subscription is recorded"}))
		return time.Time{}, false
	}
	if err != nil {
		a.fail(w, err)
		return time.Time{}, false
	}
	return d.EventTime, true
}

func mustJSON(e event.Event) []byte {
	raw, _ := json.Marshal(e)
	return raw
}

func (a *API) alerts(w http.ResponseWriter, r *http.Request) {
	p, _ := ports.PrincipalFrom(r.Context())
	scopes, _ := scopesOf(w, r, p)
	limit, ok := limitOf(w, r)
	if !ok {
		return
	}
	state := r.URL.Query().Get("state")
	if state != "" && state != AlertOpen && state != AlertAcknowledged {
		ports.WriteReply(w, a.log, rpc.Fail(http.StatusBadRequest, "Bad Request", "state: must be open or acknowledged",
			rpc.FieldError{Field: "state", Message: "must be open or acknowledged"}))
		return
	}
	out, err := a.st.ListAlerts(r.Context(), scopes, state, limit)
	if err != nil {
		a.fail(w, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"items": orEmpty(out)})
}

func (a *API) ack(w http.ResponseWriter, r *http.Request) {
	p, _ := ports.PrincipalFrom(r.Context())
	var req struct {
		Note string `json:"note"`
	}
	if !decode(w, r, &req) {
		return
	}
	if len(req.Note) > 500 {
		ports.WriteReply(w, a.log, rpc.Invalid(rpc.FieldError{Field: "note", Message: "longer than 500 characters"}))
		return
	}
	al, err := a.st.Ack(r.Context(), r.PathValue("id"), p.ID, req.Note, time.Now())
	if !domain.ValidID(r.PathValue("id")) || errors.Is(err, kv.ErrNotFound) {
		ports.WriteReply(w, a.log, rpc.NotFound("alert", r.PathValue("id")))
		return
	}
	if err != nil {
		a.fail(w, err)
		return
	}
	writeJSON(w, http.StatusOK, al)
}

// decode reads an optional JSON body into v; bad JSON names the field.
func decode(w http.ResponseWriter, r *http.Request, v any) bool {
	if r.ContentLength == 0 && r.Body == http.NoBody {
		return true
	}
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, ports.MaxBodyBytes))
	if err := dec.Decode(v); err != nil && err.Error() != "EOF" {
		field := "body"
		var te *json.UnmarshalTypeError
		if errors.As(err, &te) && te.Field != "" {
			field = te.Field
		}
		ports.WriteReply(w, nil, rpc.Fail(http.StatusBadRequest, "Bad Request", field+": "+err.Error(),
			rpc.FieldError{Field: field, Message: "not valid JSON of the right type"}))
		return false
	}
	return true
}

func invalid(w http.ResponseWriter, err error) {
	var ie *domain.InvalidError
	if !errors.As(err, &ie) {
		ports.WriteReply(w, nil, rpc.Fail(http.StatusBadRequest, "Bad Request", err.Error()))
		return
	}
	fes := make([]rpc.FieldError, len(ie.Fields))
	for i, f := range ie.Fields {
		fes[i] = rpc.FieldError{Field: f.Field, Message: f.Message}
	}
	ports.WriteReply(w, nil, rpc.Invalid(fes...))
}

func (a *API) fail(w http.ResponseWriter, err error) {
	a.log.Error("notify request", "error", err)
	ports.WriteReply(w, nil, rpc.Fail(http.StatusServiceUnavailable, "Service Unavailable", fmt.Sprintf("try again: %v", err)))
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

func orEmpty[T any](s []T) []T {
	if s == nil {
		return []T{}
	}
	return s
}
