package domain

import (
	"cmp"
	"encoding/json"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/shopspring/decimal"
)

// FocusPlaces is how many decimals the export's costs and quantities
// carry. FOCUS leaves precision to the provider; a cent would round most
// daily rows of a cheap resource to 0.00, ten decimals keep every row's
// amount and let the rows of an invoice sum to its total exactly.
const FocusPlaces = 10

// FocusColumns are the columns of the FOCUS 1.2 export: every column the
// specification makes mandatory, then those that apply to Pave's charges
// (usage priced by a published rate card, per team and environment),
// then Pave's own x_ columns. Not present, because Pave has none of what
// they describe: regions and availability zones, capacity reservations,
// commitment discounts, and a pricing currency other than the billing one.
var FocusColumns = []string{
	"BilledCost", "BillingAccountId", "BillingAccountName", "BillingCurrency", "BillingPeriodStart", "BillingPeriodEnd",
	"ChargeCategory", "ChargeClass", "ChargeDescription", "ChargePeriodStart", "ChargePeriodEnd", "ContractedCost",
	"EffectiveCost", "InvoiceIssuerName", "ListCost", "PricingQuantity", "PricingUnit", "ProviderName", "PublisherName",
	"ServiceCategory", "ServiceName", "ResourceId", "ResourceName", "ResourceType", "Tags",
	"BillingAccountType", "ChargeFrequency", "ConsumedQuantity", "ConsumedUnit", "ContractedUnitPrice", "InvoiceId",
	"ListUnitPrice", "PricingCategory", "ServiceSubcategory", "SkuId", "SkuMeter", "SkuPriceDetails", "SkuPriceId",
	"SubAccountId", "SubAccountName", "SubAccountType",
	"x_Team", "x_Environment", "x_Template",
}

// FocusRow is one charge: a line's use of one SKU in one UTC day.
type FocusRow struct {
	Attr      Attribution
	SKU       SKU
	Period    Window
	Quantity  int64
	UnitPrice decimal.Decimal
	Exact     Exact
	// Billed is Exact rounded to FocusPlaces so that the rows of each
	// invoice sum exactly to the invoice's total (largest remainder).
	Billed decimal.Decimal
}

// Invoice is the id of the provisional invoice the charge is on: one per
// team (billing account) and calendar month (billing period).
func (r FocusRow) Invoice() string {
	start, _ := PeriodBounds(PeriodMonthly, r.Period.Start)
	return r.Attr.Team + "/" + start.Format("2006-01")
}

// FocusRows cuts the visible lines' spend in w into charges per UTC day.
// The rows of each invoice are rounded together, so they sum exactly to
// that invoice's spend in w at FocusPlaces decimals.
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
			price, _ := card.Price(seg.SKU)
			rows = append(rows, FocusRow{Attr: l.Attr, SKU: seg.SKU, Period: p, Quantity: cells[k], UnitPrice: price,
				Exact: card.Amount(seg.SKU, cells[k])})
		}
	}
	invoices := map[string][]int{}
	for i, r := range rows {
		invoices[r.Invoice()] = append(invoices[r.Invoice()], i)
	}
	for _, idx := range invoices {
		parts := make([]Exact, len(idx))
		for j, i := range idx {
			parts[j] = rows[i].Exact
		}
		for j, b := range Allocate(parts, FocusPlaces) {
			rows[idx[j]].Billed = b
		}
	}
	return rows, nil
}

// focusService is a driver's FOCUS service: category, subcategory (one of
// the values allowed under the category) and name.
type focusService struct{ category, subcategory, name string }

var focusServices = map[string]focusService{
	"postgres": {"Databases", "Relational Databases", "PostgreSQL"},
	"redis":    {"Databases", "Caching", "Redis"},
	"nats":     {"Integration", "Messaging", "NATS JetStream"},
	"http":     {"Other", "Other (Other)", "External provisioner"},
	"exec":     {"Other", "Other (Other)", "Command provisioner"},
	"job":      {"Compute", "Other (Compute)", "Pave jobs"},
}

func serviceOf(typ string) focusService {
	if s, ok := focusServices[typ]; ok {
		return s
	}
	return focusService{"Other", "Other (Other)", typ}
}

// skuNames are the SKU's id, price id and meter. The price id is the
// rate card's field for the price, so it finds the unit price in the card
// (GET /v1/ratecards) and stays the same when the amount changes.
func skuNames(s SKU) (id, priceID, meter string) {
	switch s.Kind {
	case SKUCPU:
		return "job.cpu", "jobs.cpu_second", "CPU Usage"
	case SKUMemory:
		return "job.memory", "jobs.gb_second", "Memory Usage"
	}
	return s.Driver + "." + s.Class, "drivers." + s.Driver + "." + s.Class, "Resource Hours"
}

// Values are the row's columns by name; a null is absent. issuer names
// Pave's operator.
func (r FocusRow) Values(currency, issuer string) map[string]string {
	ts := func(t time.Time) string { return t.UTC().Format("2006-01-02T15:04:05Z") }
	bs, be := PeriodBounds(PeriodMonthly, r.Period.Start)
	svc := serviceOf(r.Attr.Type)
	cost := r.Billed.StringFixed(FocusPlaces)
	qty := r.SKU.Quantity(r.Quantity, FocusPlaces).String()
	price := r.UnitPrice.String()
	v := map[string]string{
		"BilledCost": cost, "ContractedCost": cost, "EffectiveCost": cost, "ListCost": cost,
		"BillingAccountId": r.Attr.Team, "BillingAccountName": r.Attr.Team, "BillingAccountType": "Team",
		"BillingCurrency": currency, "BillingPeriodStart": ts(bs), "BillingPeriodEnd": ts(be),
		"ChargeCategory": "Usage", "ChargeFrequency": "Usage-Based", "ChargeDescription": r.description(svc, currency),
		"ChargePeriodStart": ts(r.Period.Start), "ChargePeriodEnd": ts(r.Period.End), "InvoiceId": r.Invoice(),
		"InvoiceIssuerName": issuer, "ProviderName": issuer, "PublisherName": issuer,
		"PricingCategory": "Standard", "PricingQuantity": qty, "PricingUnit": r.SKU.Unit(),
		"ConsumedQuantity": qty, "ConsumedUnit": r.SKU.Unit(), "ListUnitPrice": price, "ContractedUnitPrice": price,
		"ServiceCategory": svc.category, "ServiceSubcategory": svc.subcategory, "ServiceName": svc.name,
		"ResourceId": r.Attr.Resource, "ResourceType": r.Attr.Type, "Tags": r.tags(),
		"x_Team": r.Attr.Team, "x_Environment": r.Attr.Environment, "x_Template": r.Attr.Template,
	}
	v["SkuId"], v["SkuPriceId"], v["SkuMeter"] = skuNames(r.SKU)
	if name := resourceName(r.Attr); name != "" {
		v["ResourceName"] = name
	}
	if r.SKU.Kind == SKUHours {
		details, _ := json.Marshal(map[string]string{"InstanceType": r.SKU.Class})
		v["SkuPriceDetails"] = string(details)
	}
	if r.Attr.Environment != "" && r.Attr.Type != "job" {
		v["SubAccountId"], v["SubAccountType"] = r.Attr.Environment, "Environment"
		v["SubAccountName"] = cmp.Or(r.Attr.EnvironmentName, r.Attr.Environment)
	}
	return v
}

// Record is the row in FocusColumns order; a null is an empty field.
func (r FocusRow) Record(currency, issuer string) []string {
	v := r.Values(currency, issuer)
	out := make([]string, len(FocusColumns))
	for i, c := range FocusColumns {
		out[i] = v[c]
	}
	return out
}

// description is a self-contained summary of what the charge is for and
// its price.
func (r FocusRow) description(svc focusService, currency string) string {
	what := svc.name + " " + r.SKU.Class
	switch r.SKU.Kind {
	case SKUCPU:
		what = svc.name + " CPU"
	case SKUMemory:
		what = svc.name + " memory"
	}
	return what + ", " + r.UnitPrice.String() + " " + currency + " per " + strings.TrimSuffix(r.SKU.Unit(), "s")
}

func (r FocusRow) tags() string {
	tags := map[string]string{}
	maps.Copy(tags, r.Attr.Labels)
	for k, v := range map[string]string{"pave.dev/stage": r.Attr.Stage, "pave.dev/workload": r.Attr.Workload} {
		if v != "" {
			tags[k] = v
		}
	}
	raw, _ := json.Marshal(tags)
	return string(raw)
}

// resourceName is the display name of a line's resource: its
// environment's name and the resource's name in the template ("orders/db").
// A job has none (its id is generated), so the name is null.
func resourceName(a Attribution) string {
	var parts []string
	for _, p := range []string{a.EnvironmentName, a.ResourceName} {
		if p != "" {
			parts = append(parts, p)
		}
	}
	return strings.Join(parts, "/")
}
