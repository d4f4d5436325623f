package domain

import (
	"maps"
	"slices"
	"strconv"
	"time"
)

// Segment is an interval in which a line uses one SKU at a constant
// quantity per millisecond. A zero End is open: it accrues up to now.
type Segment struct {
	Start time.Time
	End   time.Time
	SKU   SKU
	PerMS int64
}

// Attribution is who and what a line's spend belongs to.
type Attribution struct {
	Team        string
	Environment string
	// EnvironmentName is the name lifecycle's transitions give it.
	EnvironmentName string
	Template        string
	Stage           string
	Resource        string
	ResourceName    string
	// Type is the driver of a resource, "job" for a job.
	Type     string
	Workload string
	Labels   map[string]string
}

// Line is one metered thing: a resource, or one admission of a job.
type Line struct {
	ID       string
	Attr     Attribution
	Segments []Segment
}

// Lines turns the snapshot into priced lines, in a stable order.
func Lines(s Snapshot) []Line {
	out := make([]Line, 0, len(s.Resources)+len(s.Jobs))
	for _, id := range slices.Sorted(maps.Keys(s.Resources)) {
		if l, ok := resourceLine(s, s.Resources[id]); ok {
			out = append(out, l)
		}
	}
	for _, id := range slices.Sorted(maps.Keys(s.Jobs)) {
		out = append(out, jobLines(s.Jobs[id])...)
	}
	return out
}

// resourceLine walks a resource's marks in time order: billed from its
// start at the class its plan gives, at a new class from each change, and
// nothing after its stop (resource ids are never reused).
func resourceLine(s Snapshot, m ResourceMeter) (Line, bool) {
	env := s.Environments[m.EnvironmentID]
	l := Line{ID: m.ResourceID, Attr: Attribution{Team: env.Team, Environment: m.EnvironmentID, EnvironmentName: env.Name, Template: env.Template,
		Stage: env.Stage, Resource: m.ResourceID, Type: m.Driver, Workload: m.EnvironmentID}}
	var open *Segment
	closeAt := func(t time.Time) {
		if open != nil {
			open.End = t
			if open.End.After(open.Start) {
				l.Segments = append(l.Segments, *open)
			}
			open = nil
		}
	}
	for _, mk := range sortedMarks(m.Marks) {
		if mk.Kind == MarkStop {
			closeAt(mk.At)
			break
		}
		plan := s.Plans[mk.Saga]
		if l.Attr.Team == "" {
			l.Attr.Team = plan.Team
		}
		pr, _ := plan.class(m.ResourceID, mk.Compensation && plan.Operation == "update")
		if pr.Name != "" {
			l.Attr.ResourceName = pr.Name
		}
		closeAt(mk.At)
		open = &Segment{Start: mk.At, SKU: SKU{Kind: SKUHours, Driver: m.Driver, Class: pr.Class}, PerMS: 1}
	}
	if open != nil {
		l.Segments = append(l.Segments, *open)
	}
	return l, len(l.Segments) > 0
}

// jobLines bill each run of a job from its process's start to its end at
// its admission's demand of cpu (millicores) and memory (MiB).
func jobLines(j JobMeter) []Line {
	if j.Kind != "" && j.Kind != "job" {
		return nil
	}
	var out []Line
	for _, n := range slices.Sorted(maps.Keys(j.Runs)) {
		r := j.Runs[n]
		if r.Start.IsZero() || r.Demand == nil || !r.End.IsZero() && !r.End.After(r.Start) {
			continue
		}
		l := Line{ID: j.WorkloadID + "/" + strconv.Itoa(n), Attr: Attribution{Team: j.Team, Workload: j.WorkloadID,
			Resource: j.WorkloadID, Type: "job", Labels: j.Labels}}
		if cpu := r.Demand["cpu"]; cpu > 0 {
			l.Segments = append(l.Segments, Segment{Start: r.Start, End: r.End, SKU: SKU{Kind: SKUCPU}, PerMS: cpu})
		}
		if mem := r.Demand["memory"]; mem > 0 {
			l.Segments = append(l.Segments, Segment{Start: r.Start, End: r.End, SKU: SKU{Kind: SKUMemory}, PerMS: mem})
		}
		if len(l.Segments) > 0 {
			out = append(out, l)
		}
	}
	return out
}
