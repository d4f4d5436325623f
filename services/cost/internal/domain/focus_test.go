package domain_test

import (
	"encoding/json"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/shopspring/decimal"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/pave-platform/pave/services/cost/internal/domain"
)

// focusMandatory are the columns FOCUS 1.2 requires of every dataset.
var focusMandatory = []string{
	"BilledCost", "BillingAccountId", "BillingAccountName", "BillingCurrency", "BillingPeriodEnd", "BillingPeriodStart",
	"ChargeCategory", "ChargeClass", "ChargeDescription", "ChargePeriodEnd", "ChargePeriodStart", "ContractedCost",
	"EffectiveCost", "InvoiceIssuerName", "ListCost", "PricingQuantity", "PricingUnit", "ProviderName", "PublisherName",
	"ServiceCategory", "ServiceName",
}

// focusApplicable are the conditional and recommended columns whose
// condition Pave meets: usage it measures, a published price list, a
// sub account (the environment), resources with names and types, tags,
// invoices (provisional, per team and month).
var focusApplicable = []string{
	"BillingAccountType", "ChargeFrequency", "ConsumedQuantity", "ConsumedUnit", "ContractedUnitPrice", "InvoiceId",
	"ListUnitPrice", "PricingCategory", "ResourceId", "ResourceName", "ResourceType", "ServiceSubcategory", "SkuId",
	"SkuMeter", "SkuPriceDetails", "SkuPriceId", "SubAccountId", "SubAccountName", "SubAccountType", "Tags",
}

// focusNotNull are the columns that must not be null on a usage charge
// that is not a correction.
var focusNotNull = []string{
	"BilledCost", "BillingAccountId", "BillingAccountName", "BillingAccountType", "BillingCurrency", "BillingPeriodEnd",
	"BillingPeriodStart", "ChargeCategory", "ChargeDescription", "ChargeFrequency", "ChargePeriodEnd", "ChargePeriodStart",
	"ConsumedQuantity", "ConsumedUnit", "ContractedCost", "ContractedUnitPrice", "EffectiveCost", "InvoiceId",
	"InvoiceIssuerName", "ListCost", "ListUnitPrice", "PricingCategory", "PricingQuantity", "PricingUnit", "ProviderName",
	"PublisherName", "ResourceId", "ResourceType", "ServiceCategory", "ServiceName", "ServiceSubcategory", "SkuId",
	"SkuMeter", "SkuPriceId",
}

// focusSubcategories maps the subcategories Pave uses to their one parent
// category, as the specification's table of allowed values does.
var focusSubcategories = map[string]string{
	"Relational Databases": "Databases", "Caching": "Databases", "Messaging": "Integration",
	"Other (Compute)": "Compute", "Other (Other)": "Other",
}

var focusTime = regexp.MustCompile(`^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$`)

// acrossMonths is a postgres small of environment "orders" running from
// 2025-02-27T13:00:00.001Z to 2025-03-01T05:00:00.007Z (hours that do
// not terminate as decimals, and two billing periods), and a job run of
// 250 millicores and 256 MiB for 70 seconds on March 1st.
func acrossMonths() domain.Snapshot {
	s := domain.NewSnapshot()
	start := time.Date(2025, 2, 27, 13, 0, 0, int(time.Millisecond), time.UTC)
	s.Plans["env-o.create.1"] = domain.Plan{SagaID: "env-o.create.1", EnvironmentID: "env-o", Team: "pay", Operation: "create",
		Resources: []domain.PlannedResource{{ID: "env-o-db", Name: "db", Driver: "postgres", Class: "small"}}}
	s.Environments["env-o"] = domain.Environment{ID: "env-o", Team: "pay", Name: "orders", Template: "postgres-db", Stage: "dev", State: "ready"}
	s.Resources["env-o-db"] = domain.ResourceMeter{ResourceID: "env-o-db", EnvironmentID: "env-o", Driver: "postgres", Marks: []domain.Mark{
		{ID: "p", At: start, Kind: domain.MarkStart, Saga: "env-o.create.1"},
		{ID: "d", At: time.Date(2025, 3, 1, 5, 0, 0, 7*int(time.Millisecond), time.UTC), Kind: domain.MarkStop},
	}}
	jobStart := time.Date(2025, 3, 1, 8, 0, 0, 0, time.UTC)
	s.Jobs["lint"] = domain.JobMeter{WorkloadID: "lint", Team: "pay", Kind: "job", Labels: map[string]string{"repo": "shop"},
		Runs: map[int]domain.JobRun{1: {Demand: map[string]int64{"cpu": 250, "memory": 256}, Start: jobStart, End: jobStart.Add(70 * time.Second)}}}
	return s
}

// exactTotal is what a spend query counts in w, at the export's precision.
func exactTotal(t *testing.T, s domain.Snapshot, w domain.Window, now time.Time) decimal.Decimal {
	t.Helper()
	g, err := domain.NewGrid(w, 0)
	require.NoError(t, err)
	res, err := domain.Run(rateCard(t), domain.Lines(s), domain.Query{Grid: g, Now: now})
	require.NoError(t, err)
	return res.Exact.Round(domain.FocusPlaces)
}

func TestFocusHeaderHasEveryColumnThatApplies(t *testing.T) {
	cols := domain.FocusColumns
	for _, c := range append(slices.Clone(focusMandatory), focusApplicable...) {
		assert.Contains(t, cols, c)
	}
	assert.Len(t, slices.Compact(slices.Sorted(slices.Values(cols))), len(cols), "no column twice")
	firstCustom := slices.IndexFunc(cols, func(c string) bool { return strings.HasPrefix(c, "x_") })
	require.Positive(t, firstCustom)
	for _, c := range cols[firstCustom:] {
		assert.True(t, strings.HasPrefix(c, "x_"), "custom columns come after FOCUS columns: %s", c)
	}
}

// TestFocusRowsFollowTheSpecification: each row's values follow FOCUS
// 1.2's rules, names stand beside ids, and the rows of each invoice sum
// exactly to that billing period's spend (a cent per row rounded most of
// them to 0.00 and the sum away from the spend).
func TestFocusRowsFollowTheSpecification(t *testing.T) {
	card := rateCard(t)
	s := acrossMonths()
	now := time.Date(2025, 3, 2, 0, 0, 0, 0, time.UTC)
	w := domain.Window{Start: time.Date(2025, 2, 1, 0, 0, 0, 0, time.UTC), End: now}
	rows, err := domain.FocusRows(card, domain.Lines(s), w, nil, now)
	require.NoError(t, err)
	require.Len(t, rows, 5, "db on Feb 27, Feb 28 and Mar 1; the job's cpu and memory on Mar 1")

	invoices := map[string]decimal.Decimal{}
	for _, r := range rows {
		v := r.Values("USD", "Pave")
		rec := r.Record("USD", "Pave")
		require.Len(t, rec, len(domain.FocusColumns))
		for _, c := range focusNotNull {
			assert.NotEmpty(t, v[c], "%s must not be null on a usage charge", c)
		}
		assert.Empty(t, v["ChargeClass"], "null: no row is a correction")
		assert.Equal(t, "Usage", v["ChargeCategory"])
		assert.Equal(t, "Usage-Based", v["ChargeFrequency"])
		assert.Equal(t, "Standard", v["PricingCategory"])
		assert.Equal(t, focusSubcategories[v["ServiceSubcategory"]], v["ServiceCategory"], "the subcategory's one parent")
		for _, c := range []string{"BillingPeriodStart", "BillingPeriodEnd", "ChargePeriodStart", "ChargePeriodEnd"} {
			assert.Regexp(t, focusTime, v[c], c)
		}
		assert.Equal(t, v["BillingPeriodStart"][:7]+"-01T00:00:00Z", v["BillingPeriodStart"])
		assert.Equal(t, "pay/"+v["BillingPeriodStart"][:7], v["InvoiceId"])

		cost := decimal.RequireFromString(v["BilledCost"])
		assert.True(t, cost.IsPositive(), "%s rounds to nothing: %s", v["ChargeDescription"], v["BilledCost"])
		for _, c := range []string{"ListCost", "ContractedCost", "EffectiveCost"} {
			assert.Equal(t, v["BilledCost"], v[c], "no discounts: %s is the billed cost", c)
		}
		qty := decimal.RequireFromString(v["PricingQuantity"])
		list := decimal.RequireFromString(v["ListUnitPrice"])
		assert.Equal(t, v["ListUnitPrice"], v["ContractedUnitPrice"])
		assert.True(t, list.Mul(qty).Sub(cost).Abs().LessThan(decimal.New(1, -9)),
			"ListUnitPrice × PricingQuantity = %s, ListCost %s", list.Mul(qty), cost)
		assert.Equal(t, v["PricingQuantity"], v["ConsumedQuantity"])
		assert.Equal(t, v["PricingUnit"], v["ConsumedUnit"])

		price := priceAt(t, v["SkuPriceId"])
		assert.True(t, price.Equal(list), "SkuPriceId %s finds the list unit price in the rate card", v["SkuPriceId"])
		var tags map[string]any
		require.NoError(t, json.Unmarshal([]byte(v["Tags"]), &tags))

		switch v["ResourceType"] {
		case "postgres":
			assert.Equal(t, "env-o-db", v["ResourceId"])
			assert.Equal(t, "orders/db", v["ResourceName"], "the environment's name and the resource's")
			assert.Equal(t, "env-o", v["SubAccountId"])
			assert.Equal(t, "orders", v["SubAccountName"])
			assert.Equal(t, "Environment", v["SubAccountType"])
			assert.Equal(t, "Hours", v["PricingUnit"])
			assert.Equal(t, "postgres.small", v["SkuId"])
			assert.JSONEq(t, `{"InstanceType":"small"}`, v["SkuPriceDetails"])
			assert.Equal(t, "Relational Databases", v["ServiceSubcategory"])
		case "job":
			assert.Equal(t, "lint", v["ResourceId"])
			assert.Empty(t, v["ResourceName"], "null: a job's id is generated, it has no display name")
			assert.Empty(t, v["SubAccountId"], "null: a job is in no environment")
			assert.Empty(t, v["SubAccountName"])
			assert.Empty(t, v["SkuPriceDetails"])
			assert.Equal(t, "shop", tags["repo"])
			assert.Contains(t, []string{"CPU-Seconds", "GiB-Seconds"}, v["PricingUnit"])
		default:
			t.Errorf("unexpected row %v", v)
		}
		invoices[v["InvoiceId"]] = invoices[v["InvoiceId"]].Add(cost)
	}

	feb := domain.Window{Start: w.Start, End: time.Date(2025, 3, 1, 0, 0, 0, 0, time.UTC)}
	mar := domain.Window{Start: feb.End, End: now}
	assert.Equal(t, exactTotal(t, s, feb, now).String(), invoices["pay/2025-02"].String(), "February's rows sum to February")
	assert.Equal(t, exactTotal(t, s, mar, now).String(), invoices["pay/2025-03"].String(), "March's rows sum to March")
	// February: 34 h 59 min 59.999 s at 0.025 = 0.8749999930555…;
	// March: 5 h 0.007 s at 0.025 = 0.1250000486111… and the job's 17.5
	// CPU-seconds at 0.000011 and 17.5 GiB-seconds at 0.0000012.
	assert.Equal(t, "0.8749999931", invoices["pay/2025-02"].String())
	assert.Equal(t, "0.1252135486", invoices["pay/2025-03"].String())
}

// priceAt reads the test card's price at a rate card field path.
func priceAt(t *testing.T, path string) decimal.Decimal {
	t.Helper()
	card := rateCard(t)
	parts := strings.Split(path, ".")
	switch {
	case len(parts) == 3 && parts[0] == "drivers":
		return card.Hourly[parts[1]][parts[2]]
	case path == "jobs.cpu_second":
		return card.CPUSecond
	case path == "jobs.gb_second":
		return card.GBSecond
	}
	t.Fatalf("SkuPriceId %s is no field of the rate card", path)
	return decimal.Zero
}
