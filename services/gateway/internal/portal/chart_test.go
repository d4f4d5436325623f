package portal

import (
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// A chart escapes what it is given (team names come from users) and
// draws one polyline per series, or a dot for a single point.
func TestChartEscapesAndDraws(t *testing.T) {
	c := chart{ID: "c", Title: `<script>alert(1)</script>`, Labels: []string{"a", "b"},
		Series: []series{{Name: "x", Values: []float64{1, 3}}, {Name: "y", Values: []float64{0, 2}}}}
	svg := string(c.SVG())
	assert.NotContains(t, svg, "<script>")
	assert.Contains(t, svg, "&lt;script&gt;")
	assert.Equal(t, 2, strings.Count(svg, "<polyline"))
	assert.Contains(t, svg, `class="s1"`)
	one := chart{ID: "d", Labels: []string{"now"}, Series: []series{{Name: "x", Values: []float64{2}}}}
	assert.Contains(t, string(one.SVG()), "<circle")
	assert.Equal(t, 5.0, niceCeil(3.2))
	assert.Equal(t, 20.0, niceCeil(11))
}

// The weighted dominant share at an instant is the team's largest
// fraction of any resource its admitted workloads held then, divided by
// its weight; a workload that ended before the instant no longer counts.
func TestShareChartWeightsTheDominantResource(t *testing.T) {
	now := time.Date(2026, 12, 7, 12, 0, 0, 0, time.UTC)
	pools := []pool{{Name: "batch", Capacity: map[string]int64{"cpu": 1000, "memory": 1000}}}
	quotas := map[string]quota{"a": {Weight: 2}, "b": {Weight: 1}}
	ws := []workload{
		// a holds 40% of cpu and 10% of memory for the whole hour: 40/2 = 20.
		{Team: "a", Pool: "batch", State: "running", Demand: map[string]int64{"cpu": 400, "memory": 100}, AdmittedAt: now.Add(-2 * time.Hour)},
		// b held 30% of memory until 30 minutes ago: 30, then 0.
		{Team: "b", Pool: "batch", State: "succeeded", Demand: map[string]int64{"memory": 300}, AdmittedAt: now.Add(-2 * time.Hour),
			EndedAt: now.Add(-30 * time.Minute)},
		// queued: never counts.
		{Team: "b", Pool: "batch", State: "queued", Demand: map[string]int64{"cpu": 900}},
	}
	c, note := shareChart(ws, pools, quotas, now)
	require.NotNil(t, c, note)
	require.Len(t, c.Series, 2)
	assert.Equal(t, "a", c.Series[0].Name)
	assert.InDelta(t, 20, c.Series[0].Values[0], 1e-9)
	assert.InDelta(t, 20, c.Series[0].Values[12], 1e-9)
	assert.InDelta(t, 30, c.Series[1].Values[0], 1e-9)
	assert.InDelta(t, 0, c.Series[1].Values[12], 1e-9, "ended")
	assert.Equal(t, "12:00", c.Labels[12])

	none, note := shareChart(nil, pools, quotas, now)
	assert.Nil(t, none)
	assert.Contains(t, note, "No workload")
}

// The event stream's text splits into its events, data lines joined.
func TestParseSSE(t *testing.T) {
	evs := parseSSE("event: snapshot\ndata: {\"a\":1}\n\nid: 4\nevent: transitioned\ndata: {\"to\":\ndata: \"ready\"}\n\n: keep-alive\n\n")
	require.Len(t, evs, 2)
	assert.Equal(t, "transitioned", evs[1].name)
	assert.Equal(t, "{\"to\":\n\"ready\"}", evs[1].data)
}
