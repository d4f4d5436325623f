package portal_test

import (
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

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
	dan := p.member("apps", "dan", "developer")
	mia := p.member("apps", "mia", "maintainer")
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

	// Two people, two browser sessions: dan asks for just-in-time access,
	// mia approves it in hers, dan sees the grant; then dan breaks the
	// glass, which opens a review mia decides.
	step("access: a request approved by a second person, break-glass and its review", func(t *testing.T) {
		// A production environment of the team: a developer reaches its
		// login only through a grant.
		prod := p.api(p.admin, http.StatusAccepted, http.MethodPost, "/v1/environments",
			map[string]any{"team": "apps", "name": "orders-prod", "template": "redis-cache", "stage": "prod"})
		prodID := prod["environment"].(map[string]any)["id"].(string)
		p.waitState(p.admin, prodID, "ready")
		d := newTab(t, browser)
		d.watchConsole()
		d.signIn(p.base, dan)
		d.do("open the production environment", chromedp.Navigate(p.base+"/environments/"+prodID), chromedp.WaitVisible(chromedp.CSS("#reveal")))
		d.do("reveal without a grant", chromedp.Click(chromedp.CSS("#reveal")), chromedp.WaitVisible(chromedp.CSS("#credentials p, #credentials table")))
		assert.False(t, eval[bool](d, `document.querySelector("#credentials .secret") !== null`), "no production login without a grant")
		d.do("open access", chromedp.Navigate(p.base+"/access"), chromedp.WaitVisible(chromedp.CSS("#request-form")))
		d.do("ask for maintainer on prod", chromedp.SetValue(chromedp.CSS("#f-role"), "maintainer"),
			chromedp.SetValue(chromedp.CSS("#f-scope-stage"), "prod"), chromedp.SetValue(chromedp.CSS("#f-reason"), "INC-7 hotfix"),
			chromedp.Click(chromedp.CSS("#request-form button[type=submit]")))
		d.waitFor("the request pending", `document.querySelector("#my-requests") && document.querySelector("#my-requests").innerText.includes("pending")`)
		assert.False(t, eval[bool](d, `document.querySelector("#inbox") !== null`), "nobody approves their own request")

		m := newTab(t, browser)
		m.watchConsole()
		m.signIn(p.base, mia)
		m.waitFor("the request on mia's home page", `document.body.innerText.includes("dan asks for")`)
		m.do("open access", chromedp.Navigate(p.base+"/access"), chromedp.WaitVisible(chromedp.CSS("#inbox")))
		assert.Contains(t, m.text("#inbox"), "INC-7 hotfix")
		m.checkPage("access inbox")
		m.screenshot("access-inbox")
		m.do("approve", chromedp.Click(chromedp.CSS(`#inbox form[action$="/approve"] button`)))
		m.waitFor("the inbox empty", `document.querySelector("#h-inbox") !== null && document.querySelector("#inbox") === null`)

		d.do("reload", chromedp.Navigate(p.base+"/access"), chromedp.WaitVisible(chromedp.CSS("#h-grants")))
		d.waitFor("dan's grant", `document.querySelector("#grants") !== null`)
		assert.Contains(t, d.text("#grants"), "maintainer")
		assert.Contains(t, d.text("#grants"), "prod")
		// Then used: the grant's login is issued, and dan reveals it.
		require.Eventually(t, func() bool { return p.hasCredentials(dan, prodID) }, 2*time.Minute, 500*time.Millisecond,
			"dan's grant never gave a login on %s", prodID)
		d.do("open the production environment", chromedp.Navigate(p.base+"/environments/"+prodID), chromedp.WaitVisible(chromedp.CSS("#reveal")))
		d.do("reveal with the grant", chromedp.Click(chromedp.CSS("#reveal")), chromedp.WaitVisible(chromedp.CSS("#credentials .secret")))
		assert.NotEmpty(t, eval[string](d, `document.querySelector("#credentials .secret").textContent`), "the grant's login")
		d.do("back to access", chromedp.Navigate(p.base+"/access"), chromedp.WaitVisible(chromedp.CSS("#break-glass")))

		d.expectConsole("status of 422 (Unprocessable Entity) " + p.base + "/access/break-glass")
		d.do("break the glass for the whole team", chromedp.SetValue(chromedp.CSS("#g-incident_id"), "INC-8"),
			chromedp.SetValue(chromedp.CSS("#g-reason"), "database down"), chromedp.SetValue(chromedp.CSS("#g-stage"), ""),
			chromedp.Click(chromedp.CSS("#break-glass")))
		d.waitFor("the scope's error", `document.querySelector("#access-problem") !== null && document.querySelector(".loud .field-error") !== null`)
		d.do("break the glass for prod", chromedp.SetValue(chromedp.CSS("#g-stage"), "prod"), chromedp.Click(chromedp.CSS("#break-glass")))
		d.waitFor("the loud banner", `document.querySelector("#glass-active") !== null`)
		assert.Contains(t, d.text("#glass-active"), "INC-8")
		d.checkPage("access with break-glass")
		d.screenshot("access-break-glass")

		m.do("open access", chromedp.Navigate(p.base+"/access"), chromedp.WaitVisible(chromedp.CSS("#h-reviews")))
		m.waitFor("the review campaign", `document.querySelector(".review form") !== null`)
		assert.Contains(t, m.text(".review"), "break_glass")
		m.checkPage("access reviews")
		m.screenshot("access-review")
		m.do("keep", chromedp.Click(chromedp.CSS(`.review button[value="keep"]`)))
		m.waitFor("the decision recorded", `document.querySelector(".review") !== null && document.querySelector(".review").innerText.includes("keep by mia")`)
	})

	step("promotions", func(t *testing.T) {
		b.t = t
		for _, st := range []string{"dev", "test", "staging"} {
			p.api(alice, http.StatusAccepted, http.MethodPost, "/v1/environments",
				map[string]any{"team": "apps", "name": "web-" + st, "template": "redis-cache", "stage": st})
		}
		p.api(p.admin, http.StatusOK, http.MethodPut, "/v1/applications/web", map[string]any{"team": "apps", "stages": []any{
			map[string]any{"name": "dev", "environment": "web-dev"},
			map[string]any{"name": "test", "environment": "web-test", "gates": map[string]any{"approvals": 1, "approver_role": "maintainer"}},
			map[string]any{"name": "staging", "environment": "web-staging", "gates": map[string]any{"ci": true}}}})
		p.waitReady(alice, "web-dev", "web-test", "web-staging")
		b.do("open", chromedp.Navigate(p.base+"/promotions"), chromedp.WaitVisible(chromedp.CSS("#app-web")))
		assert.Contains(t, b.text("#app-web .stages"), "CI passed", "the staging gate")
		b.do("promote into test", chromedp.SetValue(chromedp.CSS("#p-web-to"), "test"), chromedp.Click(chromedp.CSS("#app-web .promote-form button")))
		b.waitFor("the promotion in the history", `document.querySelector("#app-web .history") !== null`)
		p.waitPromotion(alice, "web", "test", "awaiting_approval")
		// One approval by someone else: alice's own is refused, mia's counts.
		b.expectConsole("status of 403 (Forbidden) " + p.base + "/promotions/")
		b.do("reload", chromedp.Navigate(p.base+"/promotions"), chromedp.WaitVisible(chromedp.CSS(`#app-web .history form[action$="/approve"]`)))
		b.do("alice approves her own", chromedp.Click(chromedp.CSS(`#app-web .history form[action$="/approve"] button`)))
		b.waitFor("the refusal", `document.querySelector("#promote-problem") !== null`)
		m := newTab(t, browser)
		m.watchConsole()
		m.signIn(p.base, mia)
		m.waitFor("the promotion waiting on mia's home page", `document.querySelector("#promotion-approvals") !== null && document.querySelector("#promotion-approvals").innerText.includes("web into test by alice")`)
		m.do("open", chromedp.Navigate(p.base+"/promotions"), chromedp.WaitVisible(chromedp.CSS(`#app-web .history form[action$="/approve"]`)))
		m.do("mia approves", chromedp.Click(chromedp.CSS(`#app-web .history form[action$="/approve"] button`)))
		p.waitPromotion(alice, "web", "test", "promoted")
		b.do("reload", chromedp.Navigate(p.base+"/promotions"), chromedp.WaitVisible(chromedp.CSS("#app-web .history")))
		assert.Contains(t, b.text("#app-web .history"), "approved by mia")
		b.do("promote into staging", chromedp.SetValue(chromedp.CSS("#p-web-to"), "staging"), chromedp.Click(chromedp.CSS("#app-web .promote-form button")))
		b.waitFor("the promotion in the history", `document.querySelector("#app-web .history") !== null && document.querySelector("#app-web .history").innerText.includes("staging")`)
		p.waitPromotion(alice, "web", "staging", "rejected")
		b.do("reload", chromedp.Navigate(p.base+"/promotions"), chromedp.WaitVisible(chromedp.CSS("#app-web .history")))
		assert.Contains(t, b.text("#app-web .history .reason"), "ci gate", "why it was rejected")
		assert.Contains(t, b.text("#app-web .stages"), "failed", "the failed gate of staging's newest promotion")
		b.checkPage("promotions")
		b.screenshot("promotions")
	})

	step("environment: timeline, parameter update, receipt", func(t *testing.T) {
		b.t = t
		id := p.envID(alice, "web-dev")
		b.do("open", chromedp.Navigate(p.base+"/environments/"+id), chromedp.WaitVisible(chromedp.CSS("#update-form")))
		b.waitFor("the timeline", `document.querySelector("#timeline-list") !== null`)
		assert.Contains(t, b.text("#timeline-list"), "ready", "the state changes, from the event stream")
		b.expectConsole("status of 422 (Unprocessable Entity) " + p.base + "/environments/" + id + "/parameters")
		b.do("a size the template does not offer", chromedp.Evaluate[chromedp.Void](`(() => { const s = document.querySelector("#f-parameters-size");
			s.add(new Option("huge", "huge", true, true)); })()`), chromedp.Click(chromedp.CSS("#update-form button")))
		b.waitFor("the size's error", `document.querySelector("#f-parameters-size-error") !== null`)
		b.do("a size it offers", chromedp.SetValue(chromedp.CSS("#f-parameters-size"), "medium"), chromedp.Click(chromedp.CSS("#update-form button")))
		b.waitFor("updated live to revision 2", `document.querySelector("#env-state") && document.querySelector("#env-state").textContent === "ready" && document.querySelector("#h-revisions") && document.querySelector("#h-revisions").parentElement.innerText.includes("revision 2")`)
		b.checkPage("environment")
		b.screenshot("environment-update")
		p.api(alice, http.StatusAccepted, http.MethodDelete, "/v1/environments/"+id, nil)
		p.waitState(alice, id, "deleted")
		b.do("open the deleted one", chromedp.Navigate(p.base+"/environments/"+id), chromedp.WaitVisible(chromedp.CSS("#h-receipt")))
		receipt := eval[string](b, `(document.querySelector("#receipt") || document.querySelector("#receipt-note")).innerText`)
		assert.NotEmpty(t, receipt, "the receipt, or why there is none")
		b.checkPage("deleted environment")
		b.screenshot("environment-deleted")
	})

	step("admin", func(t *testing.T) {
		b.t = t
		b.do("a maintainer opens admin", chromedp.Navigate(p.base+"/admin"), chromedp.WaitVisible(chromedp.CSS("main .notice")))
		assert.False(t, eval[bool](b, `document.querySelector("#admin-teams") !== null`), "nothing for a team maintainer")
		a := newTab(t, browser)
		a.watchConsole()
		a.signIn(p.base, p.admin)
		a.do("open", chromedp.Navigate(p.base+"/admin"), chromedp.WaitVisible(chromedp.CSS("#admin-teams")))
		assert.Contains(t, a.text("#admin-verify"), "verifies", "the audit chain's state")
		assert.Contains(t, a.text("#admin-teams"), "alice (maintainer)")
		assert.Contains(t, a.text("#admin-pools"), "batch")
		assert.Contains(t, a.text("#admin-templates"), "redis-cache")
		a.do("create a team", chromedp.SendKeys(chromedp.CSS("#t-name"), "ops"), chromedp.Click(chromedp.CSS("#team-form button")))
		a.waitFor("team ops", `[...document.querySelectorAll("#admin-teams strong")].some(e => e.textContent === "ops")`)
		a.do("add a member", chromedp.SetValue(chromedp.CSS("#m-team"), "ops"), chromedp.SendKeys(chromedp.CSS("#m-user"), "olga"),
			chromedp.SetValue(chromedp.CSS("#m-role"), "admin"), chromedp.Click(chromedp.CSS("#member-form button")))
		a.waitFor("olga in ops", `document.querySelector("#admin-teams") && document.querySelector("#admin-teams").innerText.includes("olga (admin)")`)
		a.expectConsole("status of 422 (Unprocessable Entity) " + p.base + "/admin/")
		a.expectConsole("status of 400 (Bad Request) " + p.base + "/admin/")
		a.do("a budget that is no amount", chromedp.SetValue(chromedp.CSS("#b-team"), "ops"), chromedp.SendKeys(chromedp.CSS("#b-amount"), "lots"),
			chromedp.Click(chromedp.CSS("#budget-form button")))
		a.waitFor("the amount's error", `document.querySelector("#budget-form .field-error") !== null`)
		a.do("a budget", chromedp.SetValue(chromedp.CSS("#b-team"), "ops"), chromedp.SetValue(chromedp.CSS("#b-amount"), "250.00"),
			chromedp.Click(chromedp.CSS("#budget-form button")))
		a.waitFor("ops's budget", `document.querySelector("#admin-teams") && document.querySelector("#admin-teams").innerText.includes("250.00")`)
		a.do("a quota", chromedp.SetValue(chromedp.CSS("#q-team"), "ops"), chromedp.SetValue(chromedp.CSS("#q-pool"), "batch"),
			chromedp.SendKeys(chromedp.CSS("#q-nominal"), "cpu=1000 memory=2048"), chromedp.Click(chromedp.CSS("#quota-form button")))
		a.waitFor("ops's quota", `document.querySelector("#admin-teams") && document.querySelector("#admin-teams").innerText.includes("cpu 1000")`)
		a.do("a capacity that does not parse", chromedp.SetValue(chromedp.CSS("#pl-pool"), "batch"), chromedp.SendKeys(chromedp.CSS("#pl-capacity"), "lots"),
			chromedp.Click(chromedp.CSS("#pool-form button")))
		a.waitFor("the capacity's error", `document.querySelector("#pool-form .field-error") !== null`)
		assert.Contains(t, a.text("#pool-form .field-error"), "capacity")
		a.checkPage("admin")
		a.screenshot("admin")
	})

	step("home: live states, spend against budget, alerts", func(t *testing.T) {
		b.t = t
		// The environment pool is full: the environment waits for admission.
		p.fillEnvironmentPool()
		out := p.api(alice, http.StatusAccepted, http.MethodPost, "/v1/environments",
			map[string]any{"team": "apps", "name": "home-live", "template": "redis-cache", "stage": "dev"})
		id := out["environment"].(map[string]any)["id"].(string)
		p.waitState(alice, id, "queued")
		b.do("open home", chromedp.Navigate(p.base+"/"), chromedp.WaitVisible(chromedp.CSS("#h-envs")))
		cell := `document.querySelector('[href="/environments/` + id + `"]').closest("tr").querySelector(".state")`
		b.waitFor("the queued environment followed live", cell+`.textContent === "queued" && `+cell+`.hasAttribute("data-live-env")`)
		b.do("mark the page", chromedp.Evaluate[chromedp.Void](`window.paveStayed = true`))
		assert.Contains(t, eval[string](b, `document.querySelector("#h-spend").parentElement.innerText`), "of 100.00 USD", "spend against the budget")
		alerts := eval[string](b, `document.querySelector("#h-alerts").parentElement.innerText`)
		assert.Regexp(t, `not available|No alert|since|:`, alerts, "alerts, or why there are none")
		b.checkPage("home")
		b.screenshot("home-live")
		p.openEnvironmentPool()
		b.waitFor("ready, on the same page", cell+`.textContent === "ready"`)
		assert.True(t, eval[bool](b, `window.paveStayed === true`), "the home page followed the stream without reloading")
	})
}
