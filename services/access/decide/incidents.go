package decide

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"sync"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// IncidentBucket holds the open incidents, written by the access
// service from incident events (services/access/internal/incidents) and
// watched by every decision point: <team>.<hash of provider/incident id>.
const IncidentBucket = "ACCESS_INCIDENTS"

// OpenIncident is one open incident.
type OpenIncident struct {
	Team        string    `json:"team"`
	Application string    `json:"application,omitempty"`
	Stage       string    `json:"stage,omitempty"`
	Provider    string    `json:"provider"`
	ID          string    `json:"incident_id"`
	Title       string    `json:"title,omitempty"`
	OpenedAt    time.Time `json:"opened_at"`
}

// Incidents is the index of open incidents a decision reads
// (context.open_incident).
type Incidents struct {
	mu   sync.RWMutex
	open map[string]OpenIncident
}

// NewIncidents is an empty index.
func NewIncidents() *Incidents { return &Incidents{open: map[string]OpenIncident{}} }

// WithIncidents makes g's decisions read the open incidents.
func (g *Grants) WithIncidents(i *Incidents) *Grants {
	g.incidents = i
	return g
}

// Set records an open incident under key; Remove forgets it.
func (i *Incidents) Set(key string, in OpenIncident) {
	i.mu.Lock()
	defer i.mu.Unlock()
	i.open[key] = in
}

// Remove forgets the incident under key.
func (i *Incidents) Remove(key string) {
	i.mu.Lock()
	defer i.mu.Unlock()
	delete(i.open, key)
}

// Covers reports an open incident of the resource's team whose stage, if
// it names one, is the resource's.
func (i *Incidents) Covers(r Resource) bool {
	if i == nil || r.Team == "" {
		return false
	}
	i.mu.RLock()
	defer i.mu.RUnlock()
	for _, in := range i.open {
		if in.Team == r.Team && (in.Stage == "" || r.Stage == "" || in.Stage == r.Stage) {
			return true
		}
	}
	return false
}

// Watch follows IncidentBucket until ctx ends (the bucket may not exist
// yet: the access service declares it).
func (i *Incidents) Watch(ctx context.Context, js jetstream.JetStream, log *slog.Logger) {
	go func() {
		for ctx.Err() == nil {
			if kv, err := js.KeyValue(ctx, IncidentBucket); err == nil {
				i.watch(ctx, kv, log)
			} else if !errors.Is(err, jetstream.ErrBucketNotFound) && !errors.Is(err, nats.ErrConnectionClosed) && ctx.Err() == nil {
				log.Warn("incidents: open bucket", "error", err)
			}
			select {
			case <-ctx.Done():
				return
			case <-time.After(200 * time.Millisecond):
			}
		}
	}()
}

func (i *Incidents) watch(ctx context.Context, kv jetstream.KeyValue, log *slog.Logger) {
	w, err := kv.WatchAll(ctx)
	if err != nil {
		log.Warn("incidents: watch", "error", err)
		return
	}
	defer func() { _ = w.Stop() }()
	for {
		select {
		case <-ctx.Done():
			return
		case e, ok := <-w.Updates():
			if !ok {
				return
			}
			if e == nil {
				continue
			}
			if e.Operation() != jetstream.KeyValuePut {
				i.Remove(e.Key())
				continue
			}
			var in OpenIncident
			if json.Unmarshal(e.Value(), &in) == nil {
				i.Set(e.Key(), in)
			}
		}
	}
}
