package automate

import (
	"slices"
	"sort"
	"time"
)

// The four DORA metrics, folded from Pave's own events (see
// dora_store.go for the fold). Facts are idempotent per event: a
// deployment is one promotion to a production stage, a commit is first
// seen once, an incident is one incident_id however often it is edited.

// DeployFact is one production deployment: a promotion to a production
// stage. Failed: it was rolled back or its rollback failed.
type DeployFact struct {
	At       time.Time `json:"at"`
	Commit   string    `json:"commit,omitempty"`
	Failed   bool      `json:"failed,omitempty"`
	FailedAt time.Time `json:"failed_at,omitzero"`
}

// IncidentFact is one incident of an application.
type IncidentFact struct {
	Opened   time.Time `json:"opened,omitzero"`
	Resolved time.Time `json:"resolved,omitzero"`
}

// Facts are one application's folded facts.
type Facts struct {
	Deployments []DeployFact
	// Commits is when each commit was first pushed.
	Commits map[string]time.Time
	// Failures are provider-reported failed production deployments
	// (commit and when).
	Failures  []CommitAt
	Incidents []IncidentFact
}

// CommitAt is a commit at a time.
type CommitAt struct {
	Commit string    `json:"commit"`
	At     time.Time `json:"at"`
}

// Metrics are the four metrics over a window.
type Metrics struct {
	Deployments             int      `json:"deployments"`
	DeploymentsPerDay       float64  `json:"deployment_frequency_per_day"`
	LeadTimeSeconds         *float64 `json:"lead_time_seconds"` // median; nil without a sample
	LeadTimeSamples         int      `json:"lead_time_samples"`
	FailedDeployments       int      `json:"failed_deployments"`
	ChangeFailureRate       *float64 `json:"change_failure_rate"` // nil without deployments
	TimeToRestoreSeconds    *float64 `json:"time_to_restore_seconds"`
	TimeToRestoreSamples    int      `json:"time_to_restore_samples"`
	leadSamples, restoreSet []float64
}

// Compute is the metrics of one application's facts over [from, to),
// where a deployment followed by an incident or a reported failure
// within failureWindow counts as failed.
func Compute(f Facts, from, to time.Time, failureWindow time.Duration) Metrics {
	deps := slices.Clone(f.Deployments)
	sort.Slice(deps, func(i, j int) bool { return deps[i].At.Before(deps[j].At) })
	var m Metrics
	for i, d := range deps {
		if d.At.Before(from) || !d.At.Before(to) {
			continue
		}
		m.Deployments++
		if c, ok := f.Commits[d.Commit]; ok && d.Commit != "" && !c.After(d.At) {
			m.leadSamples = append(m.leadSamples, d.At.Sub(c).Seconds())
		}
		if !failed(f, d, failureWindow) {
			continue
		}
		m.FailedDeployments++
		start := d.At
		if !d.FailedAt.IsZero() {
			start = d.FailedAt
		}
		for _, next := range deps[i+1:] {
			if !failed(f, next, failureWindow) {
				m.restoreSet = append(m.restoreSet, next.At.Sub(start).Seconds())
				break
			}
		}
	}
	for _, in := range f.Incidents {
		if !in.Opened.IsZero() && !in.Resolved.IsZero() && !in.Opened.Before(from) && in.Opened.Before(to) && !in.Resolved.Before(in.Opened) {
			m.restoreSet = append(m.restoreSet, in.Resolved.Sub(in.Opened).Seconds())
		}
	}
	return m.finish(to.Sub(from))
}

func failed(f Facts, d DeployFact, w time.Duration) bool {
	if d.Failed {
		return true
	}
	for _, x := range f.Failures {
		if x.Commit == d.Commit && !x.At.Before(d.At) && x.At.Sub(d.At) <= w {
			return true
		}
	}
	for _, in := range f.Incidents {
		if !in.Opened.IsZero() && !in.Opened.Before(d.At) && in.Opened.Sub(d.At) <= w {
			return true
		}
	}
	return false
}

// Add sums the metrics of two applications (a team's).
func (m Metrics) Add(o Metrics) Metrics {
	return Metrics{Deployments: m.Deployments + o.Deployments, FailedDeployments: m.FailedDeployments + o.FailedDeployments,
		leadSamples: append(slices.Clone(m.leadSamples), o.leadSamples...), restoreSet: append(slices.Clone(m.restoreSet), o.restoreSet...)}
}

func (m Metrics) finish(window time.Duration) Metrics {
	if days := window.Hours() / 24; days > 0 {
		m.DeploymentsPerDay = float64(m.Deployments) / days
	}
	m.LeadTimeSamples, m.LeadTimeSeconds = len(m.leadSamples), median(m.leadSamples)
	m.TimeToRestoreSamples, m.TimeToRestoreSeconds = len(m.restoreSet), median(m.restoreSet)
	if m.Deployments > 0 {
		r := float64(m.FailedDeployments) / float64(m.Deployments)
		m.ChangeFailureRate = &r
	}
	return m
}

func median(xs []float64) *float64 {
	if len(xs) == 0 {
		return nil
	}
	s := slices.Clone(xs)
	slices.Sort(s)
	v := s[len(s)/2]
	if len(s)%2 == 0 {
		v = (s[len(s)/2-1] + s[len(s)/2]) / 2
	}
	return &v
}
