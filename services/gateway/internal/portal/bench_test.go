package portal_test

import (
	"fmt"
	"net/http"
	"slices"
	"testing"

	"github.com/chromedp/chromedp"
)

// pageLoad is what the browser's Navigation and Resource Timing say of
// one page load.
type pageLoad struct {
	// Bytes is what went over the wire: the document and every asset.
	Bytes float64 `json:"bytes"`
	// Interactive is from the navigation's start to DOMContentLoaded's
	// end, in ms: the deferred scripts (htmx, portal.js) have run.
	Interactive float64 `json:"interactive"`
}

const measure = `(() => {
	const nav = performance.getEntriesByType("navigation")[0];
	let bytes = nav.transferSize;
	for (const r of performance.getEntriesByType("resource")) { bytes += r.transferSize; }
	return {bytes: bytes, interactive: nav.domContentLoadedEventEnd - nav.startTime};
})()`

// BenchmarkPortalFirstPage loads the portal in chromium as a newcomer
// does, each time in a fresh browser context (empty cache): the sign-in
// page, then, signed in, the home page with its data. It prints the
// transfer size and the time to interactive as RESULT lines (medians).
func BenchmarkPortalFirstPage(b *testing.B) {
	b.StopTimer()
	browser := newBrowser(b)
	p := startPlatform(b)
	p.team("apps")
	token := p.member("apps", "alice", "developer")
	p.api(token, http.StatusAccepted, http.MethodPost, "/v1/environments",
		map[string]any{"team": "apps", "name": "bench", "template": "redis-cache", "stage": "dev"})
	var signin, home []pageLoad
	// The other pages, each loaded signed in (assets cached, as a user
	// moving through the portal has them).
	others := []string{"templates", "environments", "workloads", "costs", "promotions", "access", "audit", "admin"}
	loads := map[string][]pageLoad{}
	b.StartTimer()
	for i := 0; i < max(b.N, 5); i++ {
		tab := newTab(b, browser)
		tab.do("sign-in page", chromedp.Navigate(p.base+"/"), chromedp.WaitVisible(chromedp.CSS("#token")))
		signin = append(signin, eval[pageLoad](tab, measure))
		tab.do("sign in", chromedp.SendKeys(chromedp.CSS("#token"), token), chromedp.Click(chromedp.CSS("main button[type=submit]")))
		tab.waitFor("the home page", `document.querySelector("#h-envs") !== null && document.readyState === "complete"`)
		home = append(home, eval[pageLoad](tab, measure))
		for _, pg := range others {
			tab.do(pg, chromedp.Navigate(p.base+"/"+pg), chromedp.WaitVisible(chromedp.CSS("main h1")))
			tab.waitFor(pg+" loaded", `document.readyState === "complete"`)
			loads[pg] = append(loads[pg], eval[pageLoad](tab, measure))
		}
	}
	b.StopTimer()
	med := func(ls []pageLoad, f func(pageLoad) float64) float64 {
		v := make([]float64, len(ls))
		for i, l := range ls {
			v[i] = f(l)
		}
		slices.Sort(v)
		return v[len(v)/2]
	}
	bytes := func(l pageLoad) float64 { return l.Bytes }
	tti := func(l pageLoad) float64 { return l.Interactive }
	fmt.Printf("RESULT portal_first_page_kb %.1f KB (sign-in page, empty cache, every asset)\n", med(signin, bytes)/1024)
	fmt.Printf("RESULT portal_first_page_interactive_ms %.0f ms (sign-in page, empty cache, DOMContentLoaded end)\n", med(signin, tti))
	fmt.Printf("RESULT portal_home_kb %.1f KB (home page after sign-in, assets cached)\n", med(home, bytes)/1024)
	fmt.Printf("RESULT portal_home_interactive_ms %.0f ms (home page: 6 API calls, DOMContentLoaded end)\n", med(home, tti))
	for _, pg := range others {
		fmt.Printf("RESULT portal_%s_kb %.1f KB (signed in, assets cached)\n", pg, med(loads[pg], bytes)/1024)
		fmt.Printf("RESULT portal_%s_interactive_ms %.0f ms (signed in, DOMContentLoaded end)\n", pg, med(loads[pg], tti))
	}
}
