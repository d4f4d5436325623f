package portal

import (
	"fmt"
	"html/template"
	"math"
	"strings"
)

// chart is a line chart drawn on the server as SVG: no script, no
// charting library to ship, and it passes the Content-Security-Policy
// (its colours come from portal.css classes, not style attributes). A
// screen reader gets the title and the same numbers as a table (see the
// "charttable" template).
type chart struct {
	ID     string
	Title  string
	Unit   string   // of the values, said on the axis
	Labels []string // the x positions, oldest first
	Series []series
}

type series struct {
	Name   string
	Values []float64 // one per label
}

const (
	chartW, chartH         = 720.0, 220.0
	chartLeft, chartBottom = 56.0, 24.0
	chartTop, chartRight   = 8.0, 8.0
	chartSeriesClasses     = 6 // .s0 … .s5 in portal.css
)

// SVG answers the chart as an <svg> element.
func (c chart) SVG() template.HTML {
	var b strings.Builder
	esc := template.HTMLEscapeString
	fmt.Fprintf(&b, `<svg class="chart" viewBox="0 0 %.0f %.0f" role="img" aria-labelledby="%s-title" id="%s">`,
		chartW, chartH, esc(c.ID), esc(c.ID))
	fmt.Fprintf(&b, `<title id="%s-title">%s</title>`, esc(c.ID), esc(c.Title))
	top := 0.0
	for _, s := range c.Series {
		for _, v := range s.Values {
			top = math.Max(top, v)
		}
	}
	if top <= 0 {
		top = 1
	}
	top = niceCeil(top)
	plotW, plotH := chartW-chartLeft-chartRight, chartH-chartTop-chartBottom
	x := func(i int) float64 {
		if len(c.Labels) < 2 {
			return chartLeft + plotW/2
		}
		return chartLeft + plotW*float64(i)/float64(len(c.Labels)-1)
	}
	y := func(v float64) float64 { return chartTop + plotH*(1-v/top) }
	// Axes: three horizontal rules with their values, the first and last
	// label under the x axis.
	for _, f := range []float64{0, 0.5, 1} {
		fmt.Fprintf(&b, `<line class="rule" x1="%.1f" x2="%.1f" y1="%.1f" y2="%.1f"/>`, chartLeft, chartW-chartRight, y(top*f), y(top*f))
		fmt.Fprintf(&b, `<text class="axis" x="%.1f" y="%.1f" text-anchor="end">%s</text>`, chartLeft-6, y(top*f)+4, esc(short(top*f)+c.Unit))
	}
	if n := len(c.Labels); n > 0 {
		fmt.Fprintf(&b, `<text class="axis" x="%.1f" y="%.1f">%s</text>`, chartLeft, chartH-6, esc(c.Labels[0]))
		if n > 1 {
			fmt.Fprintf(&b, `<text class="axis" x="%.1f" y="%.1f" text-anchor="end">%s</text>`, chartW-chartRight, chartH-6, esc(c.Labels[n-1]))
		}
	}
	for si, s := range c.Series {
		var pts []string
		for i, v := range s.Values {
			pts = append(pts, fmt.Sprintf("%.1f,%.1f", x(i), y(v)))
		}
		cls := fmt.Sprintf("s%d", si%chartSeriesClasses)
		if len(pts) == 1 {
			fmt.Fprintf(&b, `<circle class="%s" cx="%.1f" cy="%.1f" r="4"/>`, cls, x(0), y(s.Values[0]))
			continue
		}
		fmt.Fprintf(&b, `<polyline class="%s" fill="none" points="%s"/>`, cls, strings.Join(pts, " "))
	}
	b.WriteString(`</svg>`)
	return template.HTML(b.String()) //nolint:gosec // every text above is escaped
}

// Legend pairs each series with its colour class.
func (c chart) Legend() []legendItem {
	out := make([]legendItem, len(c.Series))
	for i, s := range c.Series {
		out[i] = legendItem{Name: s.Name, Class: fmt.Sprintf("s%d", i%chartSeriesClasses)}
	}
	return out
}

type legendItem struct{ Name, Class string }

// niceCeil rounds up to 1, 2 or 5 times a power of ten.
func niceCeil(v float64) float64 {
	p := math.Pow(10, math.Floor(math.Log10(v)))
	for _, m := range []float64{1, 2, 5, 10} {
		if v <= m*p {
			return m * p
		}
	}
	return 10 * p
}

// short writes a value without needless decimals.
func short(v float64) string {
	switch {
	case v == math.Trunc(v):
		return fmt.Sprintf("%.0f", v)
	case v >= 10:
		return fmt.Sprintf("%.1f", v)
	default:
		return fmt.Sprintf("%.2f", v)
	}
}
