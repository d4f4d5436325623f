package domain

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Window is a half-open interval [Start, End) in UTC.
type Window struct {
	Start time.Time
	End   time.Time
}

// ParseWindow reads a query window: today, week, month, <n>d, <n>h, or
// two RFC 3339 times separated by a comma. now ends the relative ones.
func ParseWindow(s string, now time.Time) (Window, error) {
	now = now.UTC()
	day := time.Date(now.Year(), now.Month(), now.Day(), 0, 0, 0, 0, time.UTC)
	switch s {
	case "today":
		return Window{day, now}, nil
	case "week":
		start, _ := PeriodBounds(PeriodWeekly, now)
		return Window{start, now}, nil
	case "month":
		start, _ := PeriodBounds(PeriodMonthly, now)
		return Window{start, now}, nil
	}
	if a, b, ok := strings.Cut(s, ","); ok {
		start, err1 := time.Parse(time.RFC3339, strings.TrimSpace(a))
		end, err2 := time.Parse(time.RFC3339, strings.TrimSpace(b))
		if err1 != nil || err2 != nil {
			return Window{}, fmt.Errorf("%q: both ends must be RFC 3339 times, like 2025-01-01T00:00:00Z", s)
		}
		if !end.After(start) {
			return Window{}, fmt.Errorf("%q: the end must be after the start", s)
		}
		return Window{start.UTC(), end.UTC()}, nil
	}
	d, err := ParseSpan(s)
	if err != nil {
		return Window{}, fmt.Errorf("%q is not a window: use today, week, month, 7d, 24h or start,end in RFC 3339", s)
	}
	return Window{now.Add(-d), now}, nil
}

// ParseSpan reads <n>d, <n>h, <n>m: a positive whole number of days,
// hours or minutes.
func ParseSpan(s string) (time.Duration, error) {
	if len(s) < 2 {
		return 0, fmt.Errorf("%q is not a span like 1h or 7d", s)
	}
	unit := map[byte]time.Duration{'d': 24 * time.Hour, 'h': time.Hour, 'm': time.Minute}[s[len(s)-1]]
	n, err := strconv.Atoi(s[:len(s)-1])
	if unit == 0 || err != nil || n <= 0 || n > 100000 {
		return 0, fmt.Errorf("%q is not a span like 1h or 7d", s)
	}
	return time.Duration(n) * unit, nil
}

// MaxSteps bounds the steps of one query.
const MaxSteps = 5000

// Grid cuts a window into steps; the last may be shorter.
type Grid struct {
	Window
	Step time.Duration
	N    int
}

// NewGrid cuts w into steps of step; zero step is one step.
func NewGrid(w Window, step time.Duration) (Grid, error) {
	span := w.End.Sub(w.Start)
	if step <= 0 || step > span {
		step = span
	}
	n := int((span + step - 1) / step)
	if n > MaxSteps {
		return Grid{}, fmt.Errorf("the window has %d steps of %s; at most %d", n, step, MaxSteps)
	}
	return Grid{Window: w, Step: step, N: n}, nil
}

// StepWindow is step i's interval.
func (g Grid) StepWindow(i int) Window {
	s := g.Start.Add(time.Duration(i) * g.Step)
	return Window{s, minTime(s.Add(g.Step), g.End)}
}

// span is seg's part inside the grid in Unix milliseconds, an open
// segment counted up to now.
func (g Grid) span(seg Segment, now time.Time) (from, to int64) {
	end := seg.End
	if end.IsZero() || end.After(now) {
		end = now
	}
	return max(seg.Start.UnixMilli(), g.Start.UnixMilli()), min(end.UnixMilli(), g.End.UnixMilli())
}

// each calls f with the milliseconds of seg in each step it overlaps.
func (g Grid) each(seg Segment, now time.Time, f func(step int, ms int64)) {
	from, to := g.span(seg, now)
	start, step := g.Start.UnixMilli(), g.Step.Milliseconds()
	for from < to {
		i := (from - start) / step
		end := min(start+(i+1)*step, to)
		f(int(i), end-from)
		from = end
	}
}

// overlap is the milliseconds of seg inside the grid.
func (g Grid) overlap(seg Segment, now time.Time) int64 {
	from, to := g.span(seg, now)
	return max(to-from, 0)
}

func maxTime(a, b time.Time) time.Time {
	if a.After(b) {
		return a
	}
	return b
}

func minTime(a, b time.Time) time.Time {
	if a.Before(b) {
		return a
	}
	return b
}

// Aggregation keys.
const (
	KeyTeam        = "team"
	KeyEnvironment = "environment"
	KeyTemplate    = "template"
	KeyStage       = "stage"
	KeyResource    = "resource"
	KeyWorkload    = "workload"
	KeyLabel       = "label"
)

var aggregateKeys = []string{KeyTeam, KeyEnvironment, KeyTemplate, KeyStage, KeyResource, KeyWorkload}

// ParseAggregate reads a comma-separated list of keys; label:<name>
// groups by a label's value.
func ParseAggregate(s string) ([]string, error) {
	if s == "" {
		return nil, nil
	}
	var out []string
	for _, k := range strings.Split(s, ",") {
		k = strings.TrimSpace(k)
		name, ok := strings.CutPrefix(k, KeyLabel+":")
		switch {
		case slices.Contains(aggregateKeys, k), ok && name != "":
		case k == KeyLabel:
			return nil, fmt.Errorf("label needs a name: label:<name>")
		default:
			return nil, fmt.Errorf("unknown key %q: use team, environment, template, stage, resource, workload or label:<name>", k)
		}
		if !slices.Contains(out, k) {
			out = append(out, k)
		}
	}
	return out, nil
}

// keyOf is the line's value for aggregation key k.
func keyOf(a Attribution, k string) string {
	switch k {
	case KeyTeam:
		return a.Team
	case KeyEnvironment:
		return a.Environment
	case KeyTemplate:
		return a.Template
	case KeyStage:
		return a.Stage
	case KeyResource:
		return a.Resource
	case KeyWorkload:
		return a.Workload
	}
	return a.Labels[strings.TrimPrefix(k, KeyLabel+":")]
}
