package main

import (
	"encoding/csv"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/shopspring/decimal"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestCostEstimateGateMeteringAndExport runs through pave dev and the
// gateway over HTTP: an estimate first, a team without budget room is
// denied with the figures and nothing is built, a team without a budget
// gets its environment metered, and the FOCUS export sums to the query.
func TestCostEstimateGateMeteringAndExport(t *testing.T) {
	p := startPlatform(t, "../../deploy/templates", nil)

	code, est := p.do(http.MethodPost, "/v1/costs/estimate",
		map[string]any{"template": "postgres-db", "parameters": map[string]any{"size": "medium"}})
	require.Equal(t, http.StatusOK, code, "%v", est)
	assert.Equal(t, "USD", est["currency"])
	assert.Equal(t, "0.1", est["hourly"])
	assert.Equal(t, "73.00", est["monthly"])

	// Bad input names the field.
	for _, tt := range []struct {
		method, path string
		body         any
		code         int
		field        string
	}{
		{http.MethodPost, "/v1/costs/estimate", map[string]any{"template": "no-such"}, http.StatusNotFound, "template"},
		{http.MethodPost, "/v1/costs/estimate", map[string]any{"template": "postgres-db", "parameters": map[string]any{"size": "xl"}},
			http.StatusUnprocessableEntity, "parameters.size"},
		{http.MethodGet, "/v1/costs?window=fortnight", nil, http.StatusBadRequest, "window"},
		{http.MethodGet, "/v1/costs?window=7d&aggregate=colour", nil, http.StatusBadRequest, "aggregate"},
		{http.MethodPut, "/v1/budgets/poor", map[string]any{"amount": "-5"}, http.StatusUnprocessableEntity, "amount"},
	} {
		code, out := p.do(tt.method, tt.path, tt.body)
		require.Equal(t, tt.code, code, "%s %s: %v", tt.method, tt.path, out)
		errs, _ := out["errors"].([]any)
		require.NotEmpty(t, errs, "%v", out)
		assert.Equal(t, tt.field, errs[0].(map[string]any)["field"])
	}

	// A budget with no room: the create is denied with the figures and
	// nothing is provisioned.
	code, b := p.do(http.MethodPut, "/v1/budgets/poor", map[string]any{"amount": "0.00", "period": "monthly"})
	require.Equal(t, http.StatusOK, code, "%v", b)
	denied := p.create(map[string]any{"team": "poor", "name": "db", "template": "redis-cache", "stage": "dev"})
	env := p.waitState(denied, "failed")
	assert.Contains(t, env["reason"], "budget exceeded")
	assert.Contains(t, env["reason"], "team poor's monthly budget is 0.00 USD")
	assert.Contains(t, env["reason"], "(0.015 USD per hour)")
	assert.Equal(t, map[string]int{"postgres databases": 0, "postgres roles": 0, "redis users": 0, "nats streams": 0},
		p.realResources(), "nothing was built")

	// Without a budget the environment is built and metered.
	ok := p.create(map[string]any{"team": "rich", "name": "cache", "template": "redis-cache", "stage": "dev"})
	p.waitState(ok, "ready")
	var q map[string]any
	require.Eventually(t, func() bool {
		code, q = p.do(http.MethodGet, "/v1/costs?window=today&aggregate=team,environment&step=1h", nil)
		items, _ := q["items"].([]any)
		return code == http.StatusOK && len(items) == 1
	}, 20e9, 50e6, "the environment is never metered: %v", &q)
	item := q["items"].([]any)[0].(map[string]any)
	assert.Equal(t, map[string]any{"team": "rich", "environment": ok}, item["key"])

	// The FOCUS export is a CSV whose costs sum to the query's total.
	req, err := http.NewRequest(http.MethodGet, p.base+"/v1/costs/export?format=focus&window=today", nil)
	require.NoError(t, err)
	req.Header.Set("Authorization", "Bearer "+p.token)
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	require.Equal(t, http.StatusOK, resp.StatusCode)
	assert.True(t, strings.HasPrefix(resp.Header.Get("Content-Type"), "text/csv"))
	raw, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	records, err := csv.NewReader(strings.NewReader(string(raw))).ReadAll()
	require.NoError(t, err, string(raw))
	require.GreaterOrEqual(t, len(records), 2, string(raw))
	header := records[0]
	col := func(name string) int {
		for i, h := range header {
			if h == name {
				return i
			}
		}
		t.Fatalf("no column %s in %v", name, header)
		return -1
	}
	sum := decimal.Zero
	for _, r := range records[1:] {
		sum = sum.Add(decimal.RequireFromString(r[col("BilledCost")]))
		assert.Equal(t, ok, r[col("x_Environment")])
		assert.Equal(t, "redis-cache", r[col("x_Template")])
		assert.Equal(t, "Hours", r[col("PricingUnit")])
	}
	_, q = p.do(http.MethodGet, "/v1/costs?window=today&as_of=ignored", nil)
	assert.Equal(t, q["total"], sum.StringFixed(2))
}
