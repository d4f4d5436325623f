package portal_test

import (
	"net/http"
	"strings"
	"testing"

	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/chromedp"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestPortalJourneys drives the portal in a real chromium against the
// whole platform: a developer signs in with a token, creates an
// environment from the template's form (a field error first), watches it
// wait for admission and become ready live, reveals its credentials,
// sees nothing of another team, deletes it and signs out. Every page is
// checked for inline scripts and by axe-core.
func TestPortalJourneys(t *testing.T) {
	browser := newBrowser(t)
	p := startPlatform(t)
	p.team("apps")
	p.team("data")
	// alice maintains her team: the owner login of a dev environment is a
	// maintainer's (a developer gets only grant logins).
	alice := p.member("apps", "alice", "maintainer")
	bob := p.member("data", "bob", "developer")
	// Team data's environment, which alice must never see.
	secret := p.api(bob, http.StatusAccepted, http.MethodPost, "/v1/environments",
		map[string]any{"team": "data", "name": "secret-data", "template": "redis-cache", "stage": "dev"})
	secretID := secret["environment"].(map[string]any)["id"].(string)
	// The environment pool is full once team data's environment holds its
	// place: alice's environment waits for admission until the platform
	// gives the pool room below.
	p.waitState(bob, secretID, "ready")
	p.fillEnvironmentPool()

	b := newTab(t, browser)
	var envURL string
	// Each step needs the one before: the first that fails ends the test.
	step := func(name string, f func(t *testing.T)) {
		if !t.Run(name, f) {
			t.FailNow()
		}
	}

	step("sign in with a token", func(t *testing.T) {
		b.t = t
		b.do("open the portal", chromedp.Navigate(p.base+"/"), chromedp.WaitVisible(chromedp.CSS("#token")))
		assert.Equal(t, p.base+"/signin", b.location(), "a visitor without a session is sent to sign in")
		b.checkPage("sign in")
		b.screenshot("signin")
		b.do("sign in", chromedp.SendKeys(chromedp.CSS("#token"), alice), chromedp.Click(chromedp.CSS("main button[type=submit]")))
		b.waitFor("the home page", `document.querySelector("h1") && document.querySelector("h1").textContent.includes("Welcome, alice")`)
		var session *network.Cookie
		for _, c := range b.cookies() {
			if c.Name == "pave_session" {
				session = c
			}
		}
		require.NotNil(t, session, "a session cookie")
		assert.True(t, session.HTTPOnly, "HttpOnly")
		assert.Equal(t, network.CookieSameSiteStrict, session.SameSite)
		assert.NotContains(t, session.Value, alice, "the token is sealed in the cookie")
	})

	step("a field error appears beside its field", func(t *testing.T) {
		b.t = t
		b.do("open the catalog", chromedp.Navigate(p.base+"/templates"), chromedp.WaitVisible(chromedp.CSS(".catalog")))
		assert.Contains(t, b.text(".catalog"), "redis-cache")
		b.checkPage("templates")
		b.screenshot("templates")
		b.do("open the form", chromedp.Click(chromedp.CSS(`a[href="/templates/redis-cache"]`)), chromedp.WaitVisible(chromedp.CSS("#f-name")))
		b.waitFor("the cost estimate", `document.querySelector("#estimate").textContent.includes("Estimated cost")`)
		assert.Contains(t, b.text("#f-parameters-size"), "small", "the enum's default is selected")
		b.checkPage("create")
		b.screenshot("create")
		b.do("submit a bad name", chromedp.SendKeys(chromedp.CSS("#f-name"), "Bad Name"),
			chromedp.Click(chromedp.CSS("#create-form button[type=submit]")))
		b.waitFor("the name's error", `document.querySelector("#f-name-error") !== null`)
		assert.Contains(t, b.text("#f-name-error"), "is not a DNS label", "the API's message")
		assert.True(t, eval[bool](b, `document.querySelector("#f-name").nextElementSibling.id === "f-name-error"`),
			"the error is right after its field")
		assert.Equal(t, "true", eval[string](b, `document.querySelector("#f-name").getAttribute("aria-invalid")`))
		assert.Equal(t, "Bad Name", eval[string](b, `document.querySelector("#f-name").value`), "the input is kept")
		b.checkPage("create with an error")
		b.screenshot("create-error")
	})

	step("create and watch it become ready live", func(t *testing.T) {
		b.t = t
		b.do("submit a good name", chromedp.SetValue(chromedp.CSS("#f-name"), "cache-one"),
			chromedp.Click(chromedp.CSS("#create-form button[type=submit]")))
		b.waitFor("the environment page", `location.pathname.startsWith("/environments/env-")`)
		envURL = b.location()
		b.waitFor("the wait for admission, live", `document.querySelector("#env-state").textContent === "queued"`)
		// A marker that a navigation would lose: the page must update itself.
		b.do("mark the page", chromedp.Evaluate[chromedp.Void](`window.paveStayed = true`))
		b.screenshot("progress")
		p.openEnvironmentPool()
		b.waitFor("ready, with its resources", `document.querySelector("#env-state").textContent === "ready" && document.querySelector("#resources .state-ready") !== null`)
		assert.True(t, eval[bool](b, `window.paveStayed === true`), "the page followed the event stream without reloading")
		assert.Contains(t, b.text("#env-cost"), "a month", "what it costs")
		log := b.text("#live-log")
		assert.Contains(t, log, "ready", "the progress shows the transitions")
		assert.Contains(t, log, "step", "the progress shows the saga's steps")
		b.checkPage("environment")
		b.screenshot("environment")
	})

	step("reveal credentials on request", func(t *testing.T) {
		b.t = t
		assert.False(t, eval[bool](b, `document.querySelector(".secret") !== null`), "no credentials before asking")
		b.do("reveal", chromedp.Click(chromedp.CSS("#reveal")), chromedp.WaitVisible(chromedp.CSS("#credentials .secret")))
		passwords := eval[[]string](b, `[...document.querySelectorAll("#credentials .secret")].filter(e => /password|secret|url/i.test(e.dataset.field)).map(e => e.textContent)`)
		require.NotEmpty(t, passwords, "the resource's password is shown")
		b.checkPage("credentials")
		b.screenshot("credentials")
		b.do("reload", chromedp.Navigate(envURL), chromedp.WaitVisible(chromedp.CSS("#resources")))
		html := eval[string](b, `document.documentElement.outerHTML`)
		for _, s := range passwords {
			assert.NotContains(t, html, s, "the page itself never holds a credential")
		}
	})

	step("a member sees nothing of another team", func(t *testing.T) {
		b.t = t
		b.do("home", chromedp.Navigate(p.base+"/"), chromedp.WaitVisible(chromedp.CSS("#h-envs")))
		b.waitFor("alice's environment on the home page", `document.body.innerText.includes("cache-one")`)
		body := b.bodyText() + eval[string](b, `document.body.innerText`)
		assert.NotContains(t, body, "secret-data")
		assert.NotContains(t, b.text("#teams"), "data")
		b.checkPage("home")
		b.screenshot("home")
		b.do("list", chromedp.Navigate(p.base+"/environments"), chromedp.WaitVisible(chromedp.CSS("table.list")))
		assert.Contains(t, b.text("table.list"), "cache-one")
		assert.NotContains(t, b.text("table.list"), "secret-data")
		b.checkPage("environments")
		b.screenshot("environments")
		b.do("team data's environment", chromedp.Navigate(p.base+"/environments/"+secretID), chromedp.WaitVisible(chromedp.CSS("h1")))
		assert.Equal(t, "Not Found", b.text("h1"), "another team's environment does not exist for alice")
		assert.NotContains(t, eval[string](b, `document.body.innerText`), "secret-data")
	})

	step("the access page", func(t *testing.T) {
		b.t = t
		b.do("open", chromedp.Navigate(p.base+"/access"), chromedp.WaitVisible(chromedp.CSS("#request-form")))
		assert.Contains(t, b.text("#h-grants"), "My grants")
		b.checkPage("access")
		b.screenshot("access")
	})

	step("delete with confirmation", func(t *testing.T) {
		b.t = t
		b.do("open", chromedp.Navigate(envURL), chromedp.WaitVisible(chromedp.CSS("#resources")))
		b.do("ask to delete", chromedp.Click(chromedp.CSS(`a.danger`)), chromedp.WaitVisible(chromedp.CSS("#f-confirm")))
		b.checkPage("delete")
		b.screenshot("delete")
		b.do("confirm with a wrong name", chromedp.SendKeys(chromedp.CSS("#f-confirm"), "nope"),
			chromedp.Click(chromedp.CSS("main button.danger")), chromedp.WaitVisible(chromedp.CSS("#f-confirm-error")))
		b.do("confirm", chromedp.SetValue(chromedp.CSS("#f-confirm"), "cache-one"), chromedp.Click(chromedp.CSS("main button.danger")))
		b.waitFor("deleted, live", `location.pathname.startsWith("/environments/env-") && document.querySelector("#env-state") && document.querySelector("#env-state").textContent === "deleted"`)
		assert.True(t, strings.HasPrefix(b.location(), envURL))
	})

	step("sign out", func(t *testing.T) {
		b.t = t
		b.do("sign out", chromedp.Click(chromedp.CSS(".signout button")), chromedp.WaitVisible(chromedp.CSS("#token")))
		b.do("come back", chromedp.Navigate(p.base+"/"), chromedp.WaitVisible(chromedp.CSS("#token")))
		assert.Equal(t, p.base+"/signin", b.location(), "the session ended")
	})

	// The newcomer of make run: the bootstrap admin's token (.pave/token),
	// in no team, creates an environment for a team by name.
	step("the platform admin creates for any team", func(t *testing.T) {
		admin := newTab(t, browser)
		admin.do("sign in", chromedp.Navigate(p.base+"/signin"), chromedp.WaitVisible(chromedp.CSS("#token")),
			chromedp.SendKeys(chromedp.CSS("#token"), p.admin), chromedp.Click(chromedp.CSS("main button[type=submit]")))
		admin.waitFor("the home page", `document.querySelector("#h-envs") !== null`)
		admin.do("open the form", chromedp.Navigate(p.base+"/templates/redis-cache"), chromedp.WaitVisible(chromedp.CSS("#f-name")))
		assert.Equal(t, "INPUT", eval[string](admin, `document.querySelector("#f-team").tagName`), "any team may be named")
		admin.do("create", chromedp.SetValue(chromedp.CSS("#f-team"), "demo"), chromedp.SendKeys(chromedp.CSS("#f-name"), "first-try"),
			chromedp.Click(chromedp.CSS("#create-form button[type=submit]")))
		admin.waitFor("ready, live", `location.pathname.startsWith("/environments/env-") && document.querySelector("#resources .state-ready") !== null`)
	})
}
