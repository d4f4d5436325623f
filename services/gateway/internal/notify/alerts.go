package notify

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/cloudevents/sdk-go/v2/event"

	"github.com/pave-platform/pave/pkg/kv"
	"github.com/pave-platform/pave/services/gateway/internal/notify/domain"
)

// Alert states.
const (
	AlertOpen         = "open"
	AlertAcknowledged = "acknowledged"
)

// Alert is an event someone should act on, with whether anyone has.
type Alert struct {
	ID        string     `json:"id"`
	Team      string     `json:"team,omitempty"`
	Kind      string     `json:"kind"`
	Severity  string     `json:"severity"`
	Summary   string     `json:"summary"`
	EventID   string     `json:"event_id"`
	EventType string     `json:"event_type"`
	Subject   string     `json:"subject,omitempty"`
	At        time.Time  `json:"at"`
	State     string     `json:"state"`
	AckedBy   string     `json:"acknowledged_by,omitempty"`
	AckedAt   *time.Time `json:"acknowledged_at,omitempty"`
	Note      string     `json:"note,omitempty"`
}

// alertKinds maps the alerting event types (by suffix) to a kind and a
// severity.
var alertKinds = []struct{ suffix, kind, severity string }{
	{".cost.budget.crossed.v1", "budget", "warning"},
	{".cost.spend.spiked.v1", "spike", "warning"},
	{".provisioning.credential.drifted.v1", "drift", "warning"},
	{".lifecycle.saga.alerted.v1", "saga", "critical"},
	{".access.breakglass.activated.v1", "break-glass", "critical"},
	{".gateway.subscription.disabled.v1", "subscription", "warning"},
}

func alertKind(typ string) (kind, severity string, ok bool) {
	for _, k := range alertKinds {
		if strings.HasSuffix(typ, k.suffix) {
			return k.kind, k.severity, true
		}
	}
	return "", "", false
}

// Fold records an alerting event as an open alert, once per event id.
// Alerts without a team (drift, sagas) are the platform's.
func (s *Stores) Fold(ctx context.Context, e event.Event, a domain.Attrs) error {
	kind, sev, ok := alertKind(e.Type())
	if !ok {
		return nil
	}
	id := domain.ScopeOf(a.Team) + "." + hashKey(e.ID())
	at := e.Time()
	if at.IsZero() {
		at = time.Now()
	}
	al := Alert{ID: id, Team: a.Team, Kind: kind, Severity: sev, Summary: domain.Describe(e), EventID: e.ID(),
		EventType: e.Type(), Subject: e.Subject(), At: at.UTC(), State: AlertOpen}
	if _, err := s.Alerts.Create(ctx, id, al); err != nil && !errors.Is(err, kv.ErrConflict) {
		return fmt.Errorf("fold alert %s: %w", e.ID(), err)
	}
	return nil
}

// ListAlerts lists the alerts of scopes (nil: every scope), newest first,
// optionally only those in state.
func (s *Stores) ListAlerts(ctx context.Context, scopes []string, state string, limit int) ([]Alert, error) {
	filters := []string{">"}
	if scopes != nil {
		filters = filters[:0]
		for _, sc := range scopes {
			filters = append(filters, sc+".*")
		}
	}
	var out []Alert
	for _, f := range filters {
		es, err := s.Alerts.List(ctx, f)
		if err != nil {
			return nil, err
		}
		for _, e := range es {
			if state == "" || e.Value.State == state {
				out = append(out, e.Value)
			}
		}
	}
	slices.SortFunc(out, func(a, b Alert) int { return b.At.Compare(a.At) })
	if len(out) > limit {
		out = out[:limit]
	}
	return out, nil
}

// Ack acknowledges an alert; acknowledging it again changes nothing.
func (s *Stores) Ack(ctx context.Context, id, by, note string, now time.Time) (Alert, error) {
	a, _, err := s.Alerts.Update(ctx, id, func(a *Alert) error {
		if a.State == AlertAcknowledged {
			return kv.ErrUnchanged
		}
		t := now.UTC()
		a.State, a.AckedBy, a.AckedAt, a.Note = AlertAcknowledged, by, &t, note
		return nil
	})
	return a, err
}
