package automate

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/cloudevents/sdk-go/v2/event"

	"github.com/pave-platform/pave/pkg/bus"
	"github.com/pave-platform/pave/pkg/events"
	"github.com/pave-platform/pave/pkg/httpfx"
)

// IncidentConfig holds the incident tools' webhook secrets.
type IncidentConfig struct {
	// PagerDutySecrets sign PagerDuty v3 webhooks (X-PagerDuty-Signature:
	// v1=<hex HMAC-SHA256 of the body>); two during a rotation.
	PagerDutySecrets []string `env:"PAVE_PAGERDUTY_WEBHOOK_SECRETS" envSeparator:","`
	// OpsgenieTokens: Opsgenie's outgoing webhooks carry no signature, so
	// the integration must send the header X-Pave-Webhook-Token with one
	// of these (compared in constant time).
	OpsgenieTokens []string `env:"PAVE_OPSGENIE_WEBHOOK_TOKENS" envSeparator:","`
}

// IncidentHooks receives incident tools' webhooks at
// /v1/webhooks/incidents/{pagerduty,opsgenie}?team=T[&application=A][&stage=S]
// and publishes dev.pave.gateway.incident.{opened,resolved}.v1 on
// EVT_GATEWAY (event id = the tool and its delivery's id, so a repeated
// webhook is stored once). Other notifications are answered 204.
type IncidentHooks struct {
	cfg IncidentConfig
	pub interface {
		Publish(ctx context.Context, e event.Event) error
	}
	log *slog.Logger
}

// NewIncidentHooks builds the receiver.
func NewIncidentHooks(cfg IncidentConfig, pub *bus.Bus, log *slog.Logger) *IncidentHooks {
	return &IncidentHooks{cfg: cfg, pub: pub, log: log}
}

// IncidentHooksPattern is where the receiver is served.
const IncidentHooksPattern = "/v1/webhooks/incidents/"

// IncidentProviders are the tools served under IncidentHooksPattern (each
// answers POST; the spec has one operation each).
var IncidentProviders = []string{"pagerduty", "opsgenie"}

// ServeHTTP verifies, converts and publishes one delivery.
func (h *IncidentHooks) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost {
		httpfx.WriteProblem(w, http.StatusMethodNotAllowed, "Method Not Allowed", "POST a webhook", nil)
		return
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, 1<<20))
	if err != nil {
		httpfx.WriteProblem(w, http.StatusRequestEntityTooLarge, "Request Entity Too Large", "the body is larger than 1 MiB", nil)
		return
	}
	provider := strings.TrimPrefix(r.URL.Path, IncidentHooksPattern)
	var ok bool
	var parsed parsedIncident
	switch provider {
	case "pagerduty":
		if !pagerDutyValid(r.Header.Get("X-PagerDuty-Signature"), body, h.cfg.PagerDutySecrets) {
			field(w, http.StatusUnauthorized, "header.X-PagerDuty-Signature", "missing, or no v1= signature matches a configured secret")
			return
		}
		parsed, ok, err = parsePagerDuty(body)
	case "opsgenie":
		if !tokenMatches(r.Header.Get("X-Pave-Webhook-Token"), h.cfg.OpsgenieTokens) {
			field(w, http.StatusUnauthorized, "header.X-Pave-Webhook-Token", "missing, or not a configured token")
			return
		}
		parsed, ok, err = parseOpsgenie(body)
	default:
		httpfx.WriteProblem(w, http.StatusNotFound, "Not Found",
			"no incident receiver "+provider+" ("+strings.Join(IncidentProviders, ", ")+")", nil)
		return
	}
	if err != nil {
		field(w, http.StatusBadRequest, "body", err.Error())
		return
	}
	if !ok {
		w.WriteHeader(http.StatusNoContent)
		return
	}
	q := r.URL.Query()
	if q.Get("team") == "" {
		field(w, http.StatusBadRequest, "query.team", "is required: the team the tool's incidents are about")
		return
	}
	in := events.Incident{IncidentID: parsed.id, Provider: provider, Team: q.Get("team"), Application: q.Get("application"),
		Stage: q.Get("stage"), Title: parsed.title, At: parsed.at.UTC()}
	typ := events.TypeIncidentOpened
	if parsed.resolved {
		typ = events.TypeIncidentResolved
	}
	e, err := bus.NewEvent(provider+"/"+parsed.delivery, "pave/gateway/incidents/"+provider, typ, in)
	if err == nil {
		err = h.pub.Publish(r.Context(), e)
	}
	if err != nil {
		h.log.ErrorContext(r.Context(), "publish incident", "provider", provider, "incident", parsed.id, "error", err)
		httpfx.WriteProblem(w, http.StatusServiceUnavailable, "Service Unavailable", "the incident could not be stored; send it again", nil)
		return
	}
	w.WriteHeader(http.StatusAccepted)
}

func field(w http.ResponseWriter, status int, name, msg string) {
	httpfx.WriteProblem(w, status, http.StatusText(status), name+": "+msg,
		map[string]any{"errors": []map[string]string{{"field": name, "message": msg}}})
}

type parsedIncident struct {
	delivery, id, title string
	at                  time.Time
	resolved            bool
}

// pagerDutyValid checks X-PagerDuty-Signature: comma-separated v1=<hex>,
// any of which may match any secret (compared in constant time, every
// pair tried).
func pagerDutyValid(header string, body []byte, secrets []string) bool {
	valid := false
	for _, part := range strings.Split(header, ",") {
		sig, ok := strings.CutPrefix(strings.TrimSpace(part), "v1=")
		got, err := hex.DecodeString(sig)
		if !ok || err != nil {
			continue
		}
		for _, s := range secrets {
			mac := hmac.New(sha256.New, []byte(s))
			mac.Write(body)
			if hmac.Equal(mac.Sum(nil), got) {
				valid = true
			}
		}
	}
	return valid
}

func tokenMatches(token string, tokens []string) bool {
	got := sha256.Sum256([]byte(token))
	valid := false
	for _, t := range tokens {
		want := sha256.Sum256([]byte(t))
		if token != "" && hmac.Equal(got[:], want[:]) {
			valid = true
		}
	}
	return valid
}

// parsePagerDuty reads a v3 webhook: incident.triggered opens,
// incident.resolved resolves; ok is false for other event types.
func parsePagerDuty(body []byte) (parsedIncident, bool, error) {
	var p struct {
		Event struct {
			ID         string    `json:"id"`
			EventType  string    `json:"event_type"`
			OccurredAt time.Time `json:"occurred_at"`
			Data       struct {
				ID    string `json:"id"`
				Title string `json:"title"`
			} `json:"data"`
		} `json:"event"`
	}
	if err := json.Unmarshal(body, &p); err != nil {
		return parsedIncident{}, false, fmt.Errorf("not a PagerDuty v3 webhook: %v", err)
	}
	ev := p.Event
	if ev.EventType != "incident.triggered" && ev.EventType != "incident.resolved" {
		return parsedIncident{}, false, nil
	}
	if ev.ID == "" || ev.Data.ID == "" || ev.OccurredAt.IsZero() {
		return parsedIncident{}, false, fmt.Errorf("event.id, event.occurred_at and event.data.id are required")
	}
	return parsedIncident{delivery: ev.ID, id: ev.Data.ID, title: ev.Data.Title, at: ev.OccurredAt,
		resolved: ev.EventType == "incident.resolved"}, true, nil
}

// parseOpsgenie reads an outgoing webhook: Create opens, Close resolves.
func parseOpsgenie(body []byte) (parsedIncident, bool, error) {
	var p struct {
		Action string `json:"action"`
		Alert  struct {
			AlertID   string `json:"alertId"`
			Message   string `json:"message"`
			CreatedAt int64  `json:"createdAt"`
			UpdatedAt int64  `json:"updatedAt"`
		} `json:"alert"`
	}
	if err := json.Unmarshal(body, &p); err != nil {
		return parsedIncident{}, false, fmt.Errorf("not an Opsgenie webhook: %v", err)
	}
	if p.Action != "Create" && p.Action != "Close" {
		return parsedIncident{}, false, nil
	}
	a := p.Alert
	if a.AlertID == "" || a.CreatedAt == 0 {
		return parsedIncident{}, false, fmt.Errorf("alert.alertId and alert.createdAt are required")
	}
	at := time.UnixMilli(a.CreatedAt)
	if p.Action == "Close" && a.UpdatedAt != 0 {
		// Opsgenie sends updatedAt in nanoseconds, createdAt in milliseconds.
		at = time.UnixMilli(a.UpdatedAt)
		if a.UpdatedAt > 1e15 {
			at = time.Unix(0, a.UpdatedAt)
		}
	}
	delivery := fmt.Sprintf("%s/%s/%d", a.AlertID, p.Action, at.UnixMilli())
	return parsedIncident{delivery: delivery, id: a.AlertID, title: a.Message, at: at, resolved: p.Action == "Close"}, true, nil
}
