package cost

import (
	"encoding/csv"
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"github.com/shopspring/decimal"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/pave-platform/pave/pkg/rpc"
	"github.com/pave-platform/pave/services/cost/internal/domain"
)

// TestExportNamesTheEnvironmentAndSumsExactly: the export of the one
// database's day (10 h small and 5 h medium: 0.75) has every FOCUS
// column, names the environment ("a", learnt from lifecycle's
// transition) beside its id, and its rows carry ten decimals.
func TestExportNamesTheEnvironmentAndSumsExactly(t *testing.T) {
	h := newHarness(t)
	h.start()
	h.lifecycleOfOneDB(0)
	h.eventually(day, "0.75")

	rep := h.call(rpc.CostsExport, map[string]string{"format": "focus", "window": day["window"]}, nil)
	require.Equal(t, http.StatusOK, rep.Status, "%+v", rep.Problem)
	var page struct{ CSV string }
	require.NoError(t, json.Unmarshal(rep.Body, &page))
	records, err := csv.NewReader(strings.NewReader(page.CSV)).ReadAll()
	require.NoError(t, err)
	require.Len(t, records, 3, "header, db small, db medium")
	assert.Equal(t, domain.FocusColumns, records[0])
	col := func(r []string, name string) string { return r[indexOf(t, records[0], name)] }
	sum := decimal.Zero
	for _, r := range records[1:] {
		sum = sum.Add(decimal.RequireFromString(col(r, "BilledCost")))
		assert.Equal(t, "a/db", col(r, "ResourceName"))
		assert.Equal(t, "a", col(r, "SubAccountName"))
		assert.Equal(t, "env-a", col(r, "SubAccountId"))
		assert.Equal(t, "pay/2025-03", col(r, "InvoiceId"))
	}
	assert.Equal(t, "0.7500000000", sum.StringFixed(domain.FocusPlaces))
	assert.Equal(t, "0.2500000000", col(records[1], "BilledCost"), "10 h small at 0.025")
	assert.Equal(t, "10", col(records[1], "PricingQuantity"))
	assert.Equal(t, "0.025", col(records[1], "ListUnitPrice"))
	assert.Equal(t, "PostgreSQL small, 0.025 USD per Hour", col(records[1], "ChargeDescription"))
}

func indexOf(t *testing.T, header []string, name string) int {
	t.Helper()
	for i, h := range header {
		if h == name {
			return i
		}
	}
	t.Fatalf("no column %s in %v", name, header)
	return -1
}
