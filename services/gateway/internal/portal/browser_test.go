package portal_test

import (
	"context"
	_ "embed"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/cdp"
	cdplog "github.com/chromedp/cdproto/log"
	"github.com/chromedp/cdproto/network"
	cdpruntime "github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/pave-platform/pave/pkg/testkit"
)

// axeSource is axe-core 4.14.1 (MPL-2.0, testdata/axe.LICENSE), injected
// by the tests only: the portal never serves it.
//
//go:embed testdata/axe-4.14.1.min.js
var axeSource string

// stepTimeout bounds one browser step (a navigation, a wait for the DOM):
// generous, for a loaded 2-core machine.
const stepTimeout = 3 * time.Minute

// chromium finds the browser, or skips (fails with PAVE_REQUIRE_SERVERS=1)
// with the install hint.
func chromium(t testing.TB) string {
	t.Helper()
	for _, name := range []string{os.Getenv("PAVE_CHROMIUM"), "chromium", "chromium-browser", "google-chrome"} {
		if name == "" {
			continue
		}
		if path, err := exec.LookPath(name); err == nil {
			return path
		}
	}
	msg := "chromium is not installed: apt-get install chromium (or make servers), or set PAVE_CHROMIUM"
	if os.Getenv(testkit.RequireServersEnv) == "1" {
		t.Fatal(msg)
	}
	t.Skip(msg + "; set " + testkit.RequireServersEnv + "=1 to fail instead")
	return ""
}

// newBrowser starts a headless chromium for the test.
func newBrowser(t testing.TB) context.Context {
	t.Helper()
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(chromium(t)),
		chromedp.UserDataDir(t.TempDir()),
		chromedp.WindowSize(1280, 900),
		chromedp.Flag("disable-gpu", true),
		chromedp.Flag("disable-dev-shm-usage", true),
	)
	if os.Geteuid() == 0 {
		opts = append(opts, chromedp.NoSandbox)
	}
	alloc, cancel := chromedp.NewExecAllocator(context.Background(), opts...)
	t.Cleanup(cancel)
	ctx, cancelCtx := chromedp.NewContext(alloc)
	t.Cleanup(cancelCtx)
	// The first run starts the browser; it lives as long as ctx.
	require.NoError(t, chromedp.Do(ctx, chromedp.Navigate("about:blank")))
	return ctx
}

// tab is one browser session with its own cookies (a browser context),
// as a second person's browser would be.
type tab struct {
	t   testing.TB
	ctx context.Context

	mu       sync.Mutex
	expected []string // console messages a journey causes on purpose
}

// expectConsole names a console message the journey causes on purpose:
// a form answered with a 4xx status and its field errors is reported by
// the browser as a failed load.
func (b *tab) expectConsole(substring string) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.expected = append(b.expected, substring)
}

func newTab(t testing.TB, browser context.Context) *tab {
	t.Helper()
	ctx, cancel := chromedp.NewContext(browser, chromedp.WithNewBrowserContext())
	t.Cleanup(cancel)
	require.NoError(t, chromedp.Do(ctx, chromedp.Navigate("about:blank")))
	return &tab{t: t, ctx: ctx}
}

// do runs steps, each bounded by stepTimeout, and names the one that
// failed.
func (b *tab) do(what string, steps ...chromedp.Action[chromedp.Void]) {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, stepTimeout)
	defer cancel()
	require.NoError(b.t, chromedp.Do(ctx, steps...), "browser: %s (at %s)", what, b.location())
}

func (b *tab) location() string {
	ctx, cancel := context.WithTimeout(b.ctx, 10*time.Second)
	defer cancel()
	loc, _ := chromedp.Run(ctx, chromedp.Location())
	return loc
}

func (b *tab) text(css string) string {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, stepTimeout)
	defer cancel()
	s, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS(css)))
	require.NoError(b.t, err, "browser: text of %s (at %s)", css, b.location())
	return s
}

// eval answers a JavaScript expression's value.
func eval[T any](b *tab, expr string) T {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, stepTimeout)
	defer cancel()
	v, err := chromedp.Run(ctx, chromedp.Evaluate[T](expr, chromedp.EvalAwaitPromise))
	require.NoError(b.t, err, "browser: evaluate %s", expr)
	return v
}

// waitFor polls a JavaScript condition until it holds, across the page
// loads it may take (a form's answer, a redirect); what says what the
// test waits for when it gives up.
func (b *tab) waitFor(what, cond string) {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, stepTimeout)
	defer cancel()
	retry := time.NewTicker(50 * time.Millisecond)
	defer retry.Stop()
	var err error
	for ctx.Err() == nil {
		// A navigation destroys the page's context under a running poll:
		// poll again in the new page.
		if _, err = chromedp.Run(ctx, chromedp.Poll[chromedp.Void](cond, chromedp.WithPollingTimeout(stepTimeout),
			chromedp.WithPollingInterval(100*time.Millisecond))); err == nil {
			return
		}
		select {
		case <-ctx.Done():
		case <-retry.C:
		}
	}
	b.t.Fatalf("browser: waited for %s (at %s): %v; the page says: %s", what, b.location(), err, b.bodyText())
}

func (b *tab) bodyText() string {
	ctx, cancel := context.WithTimeout(b.ctx, 10*time.Second)
	defer cancel()
	s, _ := chromedp.Run(ctx, chromedp.Evaluate[string](`document.body ? document.body.innerText.slice(-1500) : ""`))
	return s
}

func (b *tab) cookies() []*network.Cookie {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, stepTimeout)
	defer cancel()
	res, err := chromedp.Run(ctx, chromedp.Action[network.GetCookiesResult](
		func(ctx context.Context, t *chromedp.Target) (network.GetCookiesResult, error) {
			return cdp.Call(ctx, t, network.GetCookies, network.GetCookiesParams{})
		}))
	require.NoError(b.t, err)
	return res.Cookies
}

// screenshot keeps a picture of the page in $PAVE_PORTAL_SCREENSHOTS
// (docs/portal from the repository root), only when that is set.
func (b *tab) screenshot(name string) {
	b.t.Helper()
	dir := os.Getenv("PAVE_PORTAL_SCREENSHOTS")
	if dir == "" {
		return
	}
	if !filepath.IsAbs(dir) {
		dir = filepath.Join(repo, dir)
	}
	ctx, cancel := context.WithTimeout(b.ctx, stepTimeout)
	defer cancel()
	png, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
	require.NoError(b.t, err)
	require.NoError(b.t, os.MkdirAll(dir, 0o755))
	require.NoError(b.t, os.WriteFile(filepath.Join(dir, name+".png"), png, 0o644))
}

// axeViolation is one rule axe-core found broken.
type axeViolation struct {
	ID     string `json:"id"`
	Impact string `json:"impact"`
	Help   string `json:"help"`
	Nodes  []struct {
		Target []any `json:"target"`
	} `json:"nodes"`
}

// checkPage asserts what every page must hold: no inline script or
// event-handler attribute (the CSP would block them anyway), and no
// serious or critical accessibility violation by axe-core.
func (b *tab) checkPage(name string) {
	b.t.Helper()
	inline := eval[[]string](b, `(() => {
		const out = [];
		for (const s of document.scripts) { if (!s.src) out.push("inline <script>"); }
		for (const el of document.querySelectorAll("*")) {
			for (const a of el.attributes) { if (/^on/i.test(a.name)) out.push(el.tagName + " " + a.name); }
		}
		return out;
	})()`)
	assert.Empty(b.t, inline, "%s: inline script", name)
	if !eval[bool](b, `typeof window.axe === "object"`) {
		ctx, cancel := context.WithTimeout(b.ctx, stepTimeout)
		_, err := chromedp.Run(ctx, chromedp.Evaluate[chromedp.Void](axeSource))
		cancel()
		require.NoError(b.t, err, "inject axe-core")
	}
	raw := eval[string](b, `axe.run(document, {resultTypes: ["violations"]}).then(r => JSON.stringify(r.violations))`)
	var vs []axeViolation
	require.NoError(b.t, json.Unmarshal([]byte(raw), &vs))
	var bad []string
	for _, v := range vs {
		if v.Impact == "serious" || v.Impact == "critical" {
			targets, _ := json.Marshal(v.Nodes)
			bad = append(bad, v.Impact+" "+v.ID+": "+v.Help+" "+string(targets))
		}
	}
	assert.Empty(b.t, bad, "%s: accessibility violations:\n%s", name, strings.Join(bad, "\n"))
}

// signIn signs in with token and waits for the home page.
func (b *tab) signIn(base, token string) {
	b.t.Helper()
	b.do("sign in", chromedp.Navigate(base+"/signin"), chromedp.WaitVisible(chromedp.CSS("#token")),
		chromedp.SendKeys(chromedp.CSS("#token"), token), chromedp.Click(chromedp.CSS("main button[type=submit]")))
	b.waitFor("the home page", `document.querySelector("#h-envs") !== null`)
}

// watchConsole fails the test at its end for every error the page's
// console or an uncaught exception reported.
func (b *tab) watchConsole() {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, stepTimeout)
	defer cancel()
	_, err := chromedp.Run(ctx, chromedp.Action[cdp.Empty](func(ctx context.Context, t *chromedp.Target) (cdp.Empty, error) {
		return cdp.Call(ctx, t, cdplog.Enable, cdp.Empty{})
	}))
	require.NoError(b.t, err, "enable the log domain")
	var errs []string
	require.NoError(b.t, chromedp.Listen(b.ctx, func(ev any) {
		b.mu.Lock()
		defer b.mu.Unlock()
		switch e := ev.(type) {
		case *cdpruntime.EventConsoleAPICalled:
			if e.Type == cdpruntime.ConsoleAPICalledTypeError {
				var parts []string
				for _, a := range e.Args {
					parts = append(parts, string(a.Value))
				}
				errs = append(errs, "console.error "+strings.Join(parts, " "))
			}
		case *cdpruntime.EventExceptionThrown:
			errs = append(errs, "exception "+e.ExceptionDetails.Text)
		case *cdplog.EventEntryAdded:
			if e.Entry.Level == cdplog.EntryLevelError && !slices.ContainsFunc(b.expected, func(s string) bool {
				return strings.Contains(e.Entry.Text+" "+e.Entry.URL, s)
			}) {
				errs = append(errs, "log "+e.Entry.Text+" "+e.Entry.URL)
			}
		}
	}))
	t := b.t
	t.Cleanup(func() {
		b.mu.Lock()
		defer b.mu.Unlock()
		assert.Empty(t, errs, "errors in the browser's console")
	})
}
