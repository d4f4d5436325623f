package domain

import (
	"fmt"
	"time"
)

// Retention: the meters are the cost service's working state, not its
// history. A meter closed before the horizon (now less the retention)
// can change no answer about a window that starts after the horizon, so
// it leaves the bucket and memory; windows that start before the horizon
// are refused, since their spend is no longer all there.
//
//	resource  stopped before the horizon
//	job       every run ended before the horizon
//	plan      checked before the horizon, and no kept resource bills by it
//	env       deleted or failed before the horizon, and no kept resource or plan names it

// Expired are the ids of the meters to forget, by kind.
type Expired struct {
	Resources    []string
	Jobs         []string
	Plans        []string
	Environments []string
}

// Len is how many meters are to be forgotten.
func (e Expired) Len() int {
	return len(e.Resources) + len(e.Jobs) + len(e.Plans) + len(e.Environments)
}

// ExpiredAt lists the meters of s closed before horizon that nothing
// kept refers to.
func ExpiredAt(s Snapshot, horizon time.Time) Expired {
	var out Expired
	sagas, envs := map[string]bool{}, map[string]bool{}
	for id, m := range s.Resources {
		if m.ClosedBefore(horizon) {
			out.Resources = append(out.Resources, id)
			continue
		}
		envs[m.EnvironmentID] = true
		for _, mk := range m.Marks {
			sagas[mk.Saga] = true
		}
	}
	for id, j := range s.Jobs {
		if j.ClosedBefore(horizon) {
			out.Jobs = append(out.Jobs, id)
		}
	}
	for id, p := range s.Plans {
		if !sagas[id] && p.At.Before(horizon) {
			out.Plans = append(out.Plans, id)
			continue
		}
		envs[p.EnvironmentID] = true
	}
	for id, e := range s.Environments {
		if !envs[id] && e.FinishedBefore(horizon) {
			out.Environments = append(out.Environments, id)
		}
	}
	return out
}

// Forget removes the meters e names that are still closed before
// horizon: one a late event has opened again stays.
func (s Snapshot) Forget(e Expired, horizon time.Time) {
	for _, id := range e.Resources {
		if s.Resources[id].ClosedBefore(horizon) {
			delete(s.Resources, id)
		}
	}
	for _, id := range e.Jobs {
		if s.Jobs[id].ClosedBefore(horizon) {
			delete(s.Jobs, id)
		}
	}
	for _, id := range e.Plans {
		if p, ok := s.Plans[id]; ok && p.At.Before(horizon) {
			delete(s.Plans, id)
		}
	}
	for _, id := range e.Environments {
		if s.Environments[id].FinishedBefore(horizon) {
			delete(s.Environments, id)
		}
	}
}

// ClosedBefore says the resource stopped before t: it bills nothing
// from t on (its first stop ends it).
func (r ResourceMeter) ClosedBefore(t time.Time) bool {
	for _, mk := range sortedMarks(r.Marks) {
		if mk.Kind == MarkStop {
			return mk.At.Before(t)
		}
	}
	return false
}

// ClosedBefore says every run of the job ended before t. A job that
// never started keeps its meter: nothing tells its age.
func (j JobMeter) ClosedBefore(t time.Time) bool {
	ended := false
	for _, r := range j.Runs {
		switch {
		case r.Start.IsZero():
		case r.End.IsZero() || !r.End.Before(t):
			return false
		default:
			ended = true
		}
	}
	return ended
}

// FinishedBefore says the environment ended (deleted, or failed) before t.
func (e Environment) FinishedBefore(t time.Time) bool {
	return e.finished() && e.At.Before(t)
}

// CheckRetained refuses a window that starts before horizon (zero: all
// history is kept), naming the field.
func CheckRetained(w Window, horizon time.Time, setting string) error {
	if horizon.IsZero() || !w.Start.Before(horizon) {
		return nil
	}
	return &InputError{Fields: []FieldError{{Field: "window", Message: fmt.Sprintf(
		"starts before %s, the oldest spend kept (%s); ask for a later start", horizon.Format(time.RFC3339), setting)}}}
}
