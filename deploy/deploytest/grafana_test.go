package deploytest

import (
	"encoding/json"
	"regexp"
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// dashboard is the part of a Grafana dashboard the tests read.
type dashboard struct {
	Title  string  `json:"title"`
	UID    string  `json:"uid"`
	Panels []panel `json:"panels"`
}

type panel struct {
	ID      int      `json:"id"`
	Type    string   `json:"type"`
	Title   string   `json:"title"`
	Panels  []panel  `json:"panels"` // a collapsed row holds its panels
	Targets []target `json:"targets"`
}

type target struct {
	RefID string `json:"refId"`
	Expr  string `json:"expr"`
}

// exportedMetrics reads deploy/grafana/metrics.txt: name → Prometheus type.
// cmd/pave's TestMetricsServeWhatTheDashboardReads keeps it equal to what
// /metrics serves.
func exportedMetrics(t *testing.T) map[string]string {
	t.Helper()
	out := map[string]string{}
	for _, line := range strings.Split(readFile(t, "deploy/grafana/metrics.txt"), "\n") {
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		f := strings.Fields(line)
		require.Len(t, f, 2, "metrics.txt line %q: want name and type", line)
		out[f[0]] = f[1]
	}
	require.NotEmpty(t, out)
	return out
}

func loadDashboard(t *testing.T) dashboard {
	t.Helper()
	var d dashboard
	require.NoError(t, json.Unmarshal([]byte(readFile(t, "deploy/grafana/pave.json")), &d), "pave.json is not JSON")
	return d
}

func (p panel) all() []panel {
	out := []panel{p}
	for _, c := range p.Panels {
		out = append(out, c.all()...)
	}
	return out
}

var (
	metricRef = regexp.MustCompile(`\bpave_[a-z0-9_]+`)
	// What a query may contain besides metric names: label matchers and
	// ranges are cut out first; PromQL functions, aggregations, keywords,
	// Grafana's variables and numbers stay.
	bracketed  = regexp.MustCompile(`\{[^}]*\}|\[[^\]]*\]|\b(by|without)\s*\([^)]*\)`)
	identifier = regexp.MustCompile(`\$?[A-Za-z_][A-Za-z0-9_]*`)
	promql     = []string{"sum", "max", "min", "avg", "count", "rate", "irate", "increase", "histogram_quantile",
		"topk", "bottomk", "clamp_min", "clamp_max", "abs", "delta", "deriv", "vector", "scalar", "time", "on", "ignoring", "group_left", "group_right", "and", "or", "unless"}
)

// Every query of the dashboard reads only metrics Pave serves, with the
// suffixes their types have, and the dashboard shows what the issue asks
// for: saga durations by outcome, queue depth and admissions by team,
// dead-letter queue depth, and decision latency.
func TestGrafanaDashboardQueriesOnlyServedMetrics(t *testing.T) {
	exported := exportedMetrics(t)
	d := loadDashboard(t)
	assert.NotEmpty(t, d.UID)
	queried := map[string]bool{}
	ids := map[int]bool{}
	for _, top := range d.Panels {
		for _, p := range top.all() {
			assert.False(t, ids[p.ID], "panel id %d used twice", p.ID)
			ids[p.ID] = true
			if p.Type == "row" {
				continue
			}
			require.NotEmpty(t, p.Targets, "panel %q has no query", p.Title)
			for _, tg := range p.Targets {
				refs := metricRef.FindAllString(tg.Expr, -1)
				assert.NotEmpty(t, refs, "panel %q: %q reads no Pave metric", p.Title, tg.Expr)
				for _, ref := range refs {
					name, ok := servedAs(ref, exported)
					assert.True(t, ok, "panel %q queries %s, which Pave does not serve (deploy/grafana/metrics.txt)", p.Title, ref)
					queried[name] = true
				}
				for _, id := range identifier.FindAllString(bracketed.ReplaceAllString(tg.Expr, ""), -1) {
					if strings.HasPrefix(id, "pave_") || strings.HasPrefix(id, "$") || slices.Contains(promql, id) {
						continue
					}
					assert.Fail(t, "unknown name in query", "panel %q: %q in %q is neither a Pave metric nor PromQL", p.Title, id, tg.Expr)
				}
			}
		}
	}
	var names []string
	for n := range queried {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, want := range []string{"pave_saga_duration_seconds", "pave_scheduler_queue_depth", "pave_scheduler_admissions_total",
		"pave_bus_dlq_messages", "pave_scheduler_pass_duration_seconds"} {
		assert.Contains(t, names, want, "the dashboard shows %s", want)
	}
}

// servedAs maps a reference in a query to the metric family it reads: a
// histogram is read through its _bucket, _sum and _count series.
func servedAs(ref string, exported map[string]string) (string, bool) {
	if _, ok := exported[ref]; ok {
		return ref, exported[ref] != "histogram"
	}
	for _, suffix := range []string{"_bucket", "_sum", "_count"} {
		base, found := strings.CutSuffix(ref, suffix)
		if found && exported[base] == "histogram" {
			return base, true
		}
	}
	return ref, false
}

func TestServedAsNeedsTheSeriesOfTheType(t *testing.T) {
	exported := map[string]string{"pave_x_seconds": "histogram", "pave_y_total": "counter"}
	tests := []struct {
		give string
		want bool
	}{
		{"pave_x_seconds_bucket", true},
		{"pave_x_seconds_count", true},
		{"pave_x_seconds", false}, // a histogram has no bare series
		{"pave_y_total", true},
		{"pave_y_total_bucket", false},
		{"pave_z", false},
	}
	for _, tt := range tests {
		_, ok := servedAs(tt.give, exported)
		assert.Equal(t, tt.want, ok, tt.give)
	}
}
