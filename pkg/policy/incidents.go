package policy

import (
	"crypto/sha256"
	"encoding/hex"
	"sync"
	"time"

	"github.com/pave-platform/pave/pkg/events"
)

// IncidentBucket holds access's open incidents, written from incident
// events (services/access/internal/incidents): <IncidentKey>. Only access
// reads it; the gateway folds the same events into its own index.
const IncidentBucket = "ACCESS_INCIDENTS"

// MaxOpenFor is how long an incident nobody resolved counts as open: a
// forgotten incident must not open break-glass forever.
const MaxOpenFor = 7 * 24 * time.Hour

// maxIncidents bounds the index: beyond it the oldest is forgotten.
const maxIncidents = 10000

// IncidentKey is an incident's key: its team and a hash of its tool and id.
func IncidentKey(in events.Incident) string {
	h := sha256.Sum256([]byte(in.Provider + "/" + in.IncidentID))
	return in.Team + "." + hex.EncodeToString(h[:12])
}

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
	// seen is when the index learned each incident: one nobody resolved
	// counts for MaxOpenFor from then (as access's bucket keeps it).
	seen map[string]time.Time
}

// NewIncidents is an empty index.
func NewIncidents() *Incidents {
	return &Incidents{open: map[string]OpenIncident{}, seen: map[string]time.Time{}}
}

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
	if _, ok := i.seen[key]; !ok {
		i.seen[key] = time.Now()
	}
	i.pruneLocked()
}

// Remove forgets the incident under key.
func (i *Incidents) Remove(key string) {
	i.mu.Lock()
	defer i.mu.Unlock()
	delete(i.open, key)
	delete(i.seen, key)
}

// Covers reports an open incident of the resource's team whose stage, if
// it names one, is the resource's.
func (i *Incidents) Covers(r Resource) bool {
	if i == nil || r.Team == "" {
		return false
	}
	i.mu.RLock()
	defer i.mu.RUnlock()
	cutoff := time.Now().Add(-MaxOpenFor)
	for k, in := range i.open {
		if in.Team == r.Team && !i.seen[k].Before(cutoff) && (in.Stage == "" || r.Stage == "" || in.Stage == r.Stage) {
			return true
		}
	}
	return false
}

// Apply folds one incident event: opened records it (a repeated or
// edited one keeps the earliest time), resolved forgets it.
func (i *Incidents) Apply(eventType string, in events.Incident) {
	key := IncidentKey(in)
	switch eventType {
	case events.TypeIncidentOpened:
		i.mu.Lock()
		defer i.mu.Unlock()
		if cur, ok := i.open[key]; ok && !in.At.Before(cur.OpenedAt) {
			return
		}
		i.open[key] = OpenIncident{Team: in.Team, Application: in.Application, Stage: in.Stage, Provider: in.Provider,
			ID: in.IncidentID, Title: in.Title, OpenedAt: in.At}
		if _, ok := i.seen[key]; !ok {
			i.seen[key] = time.Now()
		}
		i.pruneLocked()
	case events.TypeIncidentResolved:
		i.Remove(key)
	}
}

// pruneLocked forgets incidents open longer than MaxOpenFor, and the
// oldest beyond the bound.
func (i *Incidents) pruneLocked() {
	cutoff := time.Now().Add(-MaxOpenFor)
	for k := range i.open {
		if i.seen[k].Before(cutoff) {
			delete(i.open, k)
			delete(i.seen, k)
		}
	}
	for len(i.open) > maxIncidents {
		var oldest string
		for k := range i.open {
			if oldest == "" || i.seen[k].Before(i.seen[oldest]) {
				oldest = k
			}
		}
		delete(i.open, oldest)
		delete(i.seen, oldest)
	}
}
