package portal_test

import (
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestPortalPages drives the pages beyond the first journey in a real
// chromium against the whole platform, one journey per page: workloads
// and pools, costs, promotions, audit, admin, and access with a second
// person. Every page is checked for inline scripts and by axe-core, and
// the browser's console must stay free of errors.
func TestPortalPages(t *testing.T) {
	browser := newBrowser(t)
	p := startPlatform(t)
	p.team("apps")
	alice := p.member("apps", "alice", "maintainer")
	// Team apps may hold 200 millicores of the batch pool and borrow
	// nothing: a second job of that size waits in the queue.
	p.api(p.admin, http.StatusOK, http.MethodPut, "/v1/quotas/apps", map[string]any{"weight": 1,
		"nominal":         map[string]any{"platform": map[string]any{"environments": 10, "ops": 2}, "batch": map[string]any{"cpu": 200, "memory": 1024}},
		"borrowing_limit": map[string]any{"batch": map[string]any{"cpu": 0, "memory": 0}}})
	p.api(p.admin, http.StatusOK, http.MethodPut, "/v1/budgets/apps", map[string]any{"period": "monthly", "amount": "100.00",
		"thresholds": []int{50, 80, 100}})

	b := newTab(t, browser)
	b.watchConsole()
	step := func(name string, f func(t *testing.T)) {
		if !t.Run(name, f) {
			t.FailNow()
		}
	}
	step("sign in", func(t *testing.T) {
		b.t = t
		b.signIn(p.base, alice)
	})

	step("workloads and pools", func(t *testing.T) {
		b.t = t
		b.do("open", chromedp.Navigate(p.base+"/workloads"), chromedp.WaitVisible(chromedp.CSS("#submit-form")))
		b.expectConsole("status of 422 (Unprocessable Entity) " + p.base + "/workloads")
		b.do("submit a job without a command", chromedp.SetValue(chromedp.CSS("#f-command"), " "),
			chromedp.Click(chromedp.CSS("#submit-form button[type=submit]")))
		b.waitFor("the command's error", `document.querySelector("#f-command-error") !== null`)
		assert.Equal(t, "true", eval[string](b, `document.querySelector("#f-command").getAttribute("aria-invalid")`))
		b.do("submit a long job", chromedp.SetValue(chromedp.CSS("#f-command"), "sleep 300"),
			chromedp.SetValue(chromedp.CSS("#f-demand-cpu"), "200"), chromedp.Click(chromedp.CSS("#submit-form button[type=submit]")))
		b.waitFor("the first job admitted", `document.querySelector("#workloads") && /admitted|running/.test(document.querySelector("#workloads").innerText)`)
		b.do("submit a second one", chromedp.SetValue(chromedp.CSS("#f-command"), "sleep 300"),
			chromedp.SetValue(chromedp.CSS("#f-demand-cpu"), "200"), chromedp.Click(chromedp.CSS("#submit-form button[type=submit]")))
		b.waitFor("the second job queued with its reason", `document.querySelector("#queue .reason") !== null`)
		assert.Equal(t, "1", eval[string](b, `document.querySelector("#queue tbody td:nth-child(2)").textContent`), "its position")
		assert.NotEmpty(t, b.text("#queue .reason"), "why it waits")
		assert.Contains(t, b.text("#usage"), "cpu", "usage against quota")
		assert.Contains(t, b.text("#usage"), "200", "the quota")
		assert.True(t, eval[bool](b, `document.querySelector("#share-chart polyline, #share-chart circle") !== null`), "the share chart")
		b.checkPage("workloads")
		b.screenshot("workloads")
		b.do("cancel the queued job", chromedp.Click(chromedp.CSS("#queue button.danger")))
		b.waitFor("the queue empty", `document.querySelector("#h-queue") && document.querySelector("#queue") === null && document.querySelector("#workloads").innerText.includes("cancel")`)
	})

	step("costs", func(t *testing.T) {
		b.t = t
		b.do("open", chromedp.Navigate(p.base+"/costs?window=today&by=team"), chromedp.WaitVisible(chromedp.CSS("#h-budgets")))
		assert.Contains(t, b.text("#budgets"), "100.00", "the budget")
		assert.Contains(t, b.text("#budgets"), "80%", "its thresholds")
		csv := eval[string](b, `fetch(document.querySelector("#focus-export").href).then(r => r.status + " " + r.headers.get("content-disposition") + "\n" + r.text())`)
		require.Contains(t, csv, "200 attachment", "the export downloads")
		b.checkPage("costs")
		b.screenshot("costs")
	})

	step("audit, newest first", func(t *testing.T) {
		b.t = t
		b.do("open", chromedp.Navigate(p.base+"/audit"), chromedp.WaitVisible(chromedp.CSS("#audit")))
		times := eval[[]string](b, `[...document.querySelectorAll("#audit tbody tr td:first-child")].map(td => td.textContent)`)
		require.NotEmpty(t, times)
		assert.True(t, slices.IsSortedFunc(times, func(a, b string) int { return strings.Compare(b, a) }), "newest first: %v", times)
		assert.Contains(t, b.text("#audit"), "alice", "her own actions")
		b.do("filter by action", chromedp.SetValue(chromedp.CSS("#q-action"), "workload:submit"),
			chromedp.Click(chromedp.CSS("#audit-filter button")))
		b.waitFor("only submissions", `location.search.includes("action=workload") && document.querySelector("#audit") !== null`)
		actions := eval[[]string](b, `[...new Set([...document.querySelectorAll("#audit tbody tr td:nth-child(3)")].map(td => td.textContent))]`)
		assert.Equal(t, []string{"workload:submit"}, actions)
		b.do("verify", chromedp.Click(chromedp.CSS("#verify")), chromedp.WaitVisible(chromedp.CSS("#verify-state")))
		assert.Contains(t, b.location(), "action=workload%3Asubmit", "the filter is kept")
		b.checkPage("audit")
		b.screenshot("audit")
	})
}
