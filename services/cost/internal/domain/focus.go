package domain

import (
	"encoding/json"
	"maps"
	"slices"
	"time"

	"github.com/shopspring/decimal"
)

// FocusColumns are the columns of the FOCUS 1.2 export: the mandatory
// ones, the resource columns, Tags and Pave's own x_ columns.
var FocusColumns = []string{
	"BilledCost", "BillingAccountId", "BillingAccountName", "BillingCurrency", "BillingPeriodStart", "BillingPeriodEnd",
	"ChargeCategory", "ChargeClass", "ChargeDescription", "ChargePeriodStart", "ChargePeriodEnd", "ContractedCost",
	"EffectiveCost", "InvoiceIssuerName", "ListCost", "PricingQuantity", "PricingUnit", "ProviderName", "PublisherName",
	"ServiceCategory", "ServiceName", "ResourceId", "ResourceName", "ResourceType", "Tags",
	"x_Team", "x_Environment", "x_Template",
}

// FocusRow is one charge: a line's use of one SKU in one UTC day.
type FocusRow struct {
	Attr     Attribution
	SKU      SKU
	Period   Window
	Quantity int64
	Exact    Exact
	Billed   decimal.Decimal
}

// FocusRows cuts the visible lines' spend in w into charges per UTC day.
// The billed costs are allocated so that they sum exactly to the rounded
// total of the window, which is what a query of the same window answers.
func FocusRows(card RateCard, lines []Line, w Window, visible func(string) bool, now time.Time) ([]FocusRow, error) {
	day := time.Date(w.Start.Year(), w.Start.Month(), w.Start.Day(), 0, 0, 0, 0, time.UTC)
	g, err := NewGrid(Window{day, w.End}, 24*time.Hour)
	if err != nil {
		return nil, err
	}
	var rows []FocusRow
	for _, l := range lines {
		if visible != nil && !visible(l.Attr.Team) {
			continue
		}
		cells := map[[2]int]int64{}
		for si, seg := range l.Segments {
			seg.Start = maxTime(seg.Start, w.Start)
			g.each(seg, now, func(i int, ms int64) { cells[[2]int{si, i}] += ms * seg.PerMS })
		}
		for _, k := range slices.SortedFunc(maps.Keys(cells), func(a, b [2]int) int {
			if a[1] != b[1] {
				return a[1] - b[1]
			}
			return a[0] - b[0]
		}) {
			seg := l.Segments[k[0]]
			p := g.StepWindow(k[1])
			p.Start = maxTime(p.Start, w.Start)
			rows = append(rows, FocusRow{Attr: l.Attr, SKU: seg.SKU, Period: p, Quantity: cells[k],
				Exact: card.Amount(seg.SKU, cells[k])})
		}
	}
	parts := make([]Exact, len(rows))
	for i, r := range rows {
		parts[i] = r.Exact
	}
	for i, b := range Allocate(parts, card.Places()) {
		rows[i].Billed = b
	}
	return rows, nil
}

var serviceOf = map[string][2]string{
	"postgres": {"Databases", "PostgreSQL"}, "redis": {"Databases", "Redis"}, "nats": {"Integration", "NATS JetStream"},
	"http": {"Other", "External provisioner"}, "exec": {"Other", "Command provisioner"}, "job": {"Compute", "Pave jobs"},
}

// Record is the row in FocusColumns order. issuer names Pave's operator.
func (r FocusRow) Record(currency, issuer string, places int32) []string {
	ts := func(t time.Time) string { return t.UTC().Format("2006-01-02T15:04:05Z") }
	bs, be := PeriodBounds(PeriodMonthly, r.Period.Start)
	svc := serviceOf[r.Attr.Type]
	if svc[0] == "" {
		svc = [2]string{"Other", r.Attr.Type}
	}
	tags := map[string]string{}
	maps.Copy(tags, r.Attr.Labels)
	for k, v := range map[string]string{"pave.dev/stage": r.Attr.Stage, "pave.dev/workload": r.Attr.Workload} {
		if v != "" {
			tags[k] = v
		}
	}
	rawTags, _ := json.Marshal(tags)
	desc := r.Attr.Type + " " + r.SKU.Class
	if r.SKU.Kind != SKUHours {
		desc = "job " + r.SKU.Unit()
	}
	cost := Money(r.Billed, places)
	list := cost
	return []string{
		cost, r.Attr.Team, r.Attr.Team, currency, ts(bs), ts(be),
		"Usage", "", desc, ts(r.Period.Start), ts(r.Period.End), cost,
		cost, issuer, list, r.SKU.Quantity(r.Quantity).String(), r.SKU.Unit(), issuer, issuer,
		svc[0], svc[1], r.Attr.Resource, r.Attr.ResourceName, r.Attr.Type, string(rawTags),
		r.Attr.Team, r.Attr.Environment, r.Attr.Template,
	}
}
