package main

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	pkgaudit "github.com/pave-platform/pave/pkg/audit"
	"github.com/pave-platform/pave/pkg/events"
	"github.com/pave-platform/pave/services/access/audit"
)

// Issue 15's "a full AUDIT turns every /v1 call into 503 (reads too)":
// AUDIT filled on purpose to its bound (1 MiB, with real, chained records
// through the access service) is alerted on (event, metric, /readyz
// warning); reads go on, a write, which needs its record, answers a clean
// 503 naming AUDIT before it changes anything; once space frees (the
// limit raised) writes are taken again, the reads made while it was full
// are in the ledger, not lost, and `pave audit verify` passes end to end.
func TestFullAuditRefusesWritesCleanlyServesReadsAndRecovers(t *testing.T) {
	t.Setenv("PAVE_STREAM_MAX_BYTES", "1048576")
	t.Setenv("PAVE_STREAM_FILL_INTERVAL", "1s")
	dir := t.TempDir()
	base, app, js := startDevJS(t, dir)
	t.Cleanup(func() { stopDev(t, app) })
	token, err := readToken(dir)
	require.NoError(t, err)
	p := &platform{t: t, base: base, token: token, js: js}
	reads := 0
	read := func() {
		t.Helper()
		code, out := p.do(http.MethodGet, "/v1/teams", nil)
		require.Equal(t, http.StatusOK, code, "a read while AUDIT is full: %v", out)
		reads++
	}
	code, out := p.do(http.MethodPost, "/v1/teams", map[string]any{"name": "before"})
	require.Equal(t, http.StatusCreated, code, "%v", out)
	read()

	fillAudit(t, p)
	var ready map[string]any
	require.Eventually(t, func() bool {
		_, ready = getJSON(t, p.base+"/readyz", "")
		return strings.Contains(strings.Join(anyStrings(ready["warnings"]), " "), "stream AUDIT is ")
	}, 30*time.Second, 100*time.Millisecond, "/readyz never warned of AUDIT: %v", &ready)
	assert.Equal(t, "ok", ready["status"], "a full stream warns; the process still serves reads")
	assert.Contains(t, strings.Join(anyStrings(ready["warnings"]), " "), "writes are refused")
	require.Eventually(t, func() bool { return len(streamAlerts(t, p.js, audit.Stream)) > 0 },
		30*time.Second, 100*time.Millisecond, "no fill alert for AUDIT on EVT_PLATFORM")
	assert.Equal(t, []string{events.TypeStreamFilling}, streamAlerts(t, p.js, audit.Stream), "one filling alert")
	fill := regexp.MustCompile(`pave_stream_fill_ratio\{[^}]*stream="AUDIT"[^}]*\} [0-9.e-]+`)
	var last string
	require.Eventually(t, func() bool {
		_, _, metrics := get(t, p.base+"/metrics", "")
		last = fill.FindString(string(metrics))
		return regexp.MustCompile(`\} 0\.9[5-9]|\} 1$`).MatchString(last)
	}, 30*time.Second, 200*time.Millisecond, "the fill is a metric: last read %q", &last)

	for range 3 {
		read()
	}
	msgs := streamMsgs(t, p.js, audit.Stream)
	code, header, problem := p.raw(http.MethodPost, "/v1/teams", map[string]any{"name": "refused"})
	require.Equal(t, http.StatusServiceUnavailable, code, "%v", problem)
	assert.Equal(t, "30", header.Get("Retry-After"))
	assert.Equal(t, []any{audit.Stream}, problem["streams"])
	assert.Contains(t, problem["detail"], "stream AUDIT is ")
	assert.Contains(t, problem["detail"], "nothing was changed")
	assert.Equal(t, msgs, streamMsgs(t, p.js, audit.Stream), "the refused write left no record")
	read()
	assert.NotContains(t, teamNames(t, p), "refused", "the refused write made no team")

	raiseLimit(t, p.js, audit.Stream, 64<<20)
	require.Eventually(t, func() bool {
		code, _ := p.do(http.MethodPost, "/v1/teams", map[string]any{"name": "after"})
		return code == http.StatusCreated
	}, 30*time.Second, 200*time.Millisecond, "writes were still refused after the limit was raised")
	read()
	assert.Subset(t, teamNames(t, p), []string{"before", "after"})
	require.Eventually(t, func() bool { return len(streamAlerts(t, p.js, audit.Stream)) == 2 },
		30*time.Second, 100*time.Millisecond, "no cleared alert for AUDIT")
	assert.Equal(t, []string{events.TypeStreamFilling, events.TypeStreamCleared}, streamAlerts(t, p.js, audit.Stream))
	_, ready = getJSON(t, p.base+"/readyz", "")
	assert.Nil(t, ready["warnings"], "no warning once it cleared")

	// The reads are counted per minute and recorded when the minute is
	// over: those made while AUDIT was full were kept, not dropped.
	var counted int
	require.Eventually(t, func() bool {
		counted = countedReads(t, p)
		return counted >= reads
	}, 90*time.Second, 500*time.Millisecond, "reads recorded: %d of %d", &counted, reads)

	t.Setenv("PAVE_SERVER", base)
	t.Setenv("PAVE_TOKEN", token)
	var verify bytes.Buffer
	require.NoError(t, runAccess("audit", []string{"verify"}, &verify), verify.String())
	assert.Contains(t, verify.String(), "audit chain ok")
}

// fillAudit appends real records (16 KiB of details each, chained and
// signed by the access service) until AUDIT refuses one.
func fillAudit(t *testing.T, p *platform) {
	t.Helper()
	c := pkgaudit.NewClient(p.js.Conn(), 5*time.Second)
	pad := strings.Repeat("x", 16<<10)
	for i := 0; ; i++ {
		require.Less(t, i, 200, "AUDIT never refused a record")
		err := c.Append(context.Background(), pkgaudit.Record{Kind: "test", Actor: "filler", Action: "test:fill",
			Details: map[string]string{"pad": pad}})
		if err != nil {
			require.Contains(t, err.Error(), "503")
			return
		}
	}
}

func teamNames(t *testing.T, p *platform) []string {
	t.Helper()
	code, out := p.do(http.MethodGet, "/v1/teams", nil)
	require.Equal(t, http.StatusOK, code)
	items, _ := out["items"].([]any)
	var names []string
	for _, it := range items {
		m, _ := it.(map[string]any)
		name, _ := m["name"].(string)
		names = append(names, name)
	}
	return names
}

// countedReads sums details.count of the api:reads records in AUDIT.
func countedReads(t *testing.T, p *platform) int {
	t.Helper()
	ctx := context.Background()
	s, err := p.js.Stream(ctx, audit.Stream)
	require.NoError(t, err)
	info, err := s.Info(ctx)
	require.NoError(t, err)
	n := 0
	for seq := info.State.FirstSeq; info.State.Msgs > 0 && seq <= info.State.LastSeq; seq++ {
		m, err := s.GetMsg(ctx, seq)
		if err != nil {
			continue
		}
		recs, err := pkgaudit.Records(m.Data)
		require.NoError(t, err)
		for _, r := range recs {
			if r.Action == "api:reads" {
				c, _ := strconv.Atoi(r.Details["count"])
				n += c
			}
		}
	}
	return n
}

// The runbook's other way out of a full AUDIT: shorten PAVE_AUDIT_RETENTION
// and restart. pave dev starts with AUDIT full, the archiver lets the
// archived records leave, writes are taken again without anyone raising a
// limit, and `pave audit verify` passes across the archive and the stream.
func TestFullAuditRecoversWhenTheArchiverFreesSpace(t *testing.T) {
	t.Setenv("PAVE_STREAM_MAX_BYTES", "1048576")
	t.Setenv("PAVE_STREAM_FILL_INTERVAL", "1s")
	t.Setenv("PAVE_AUDIT_ARCHIVE", "dir:"+t.TempDir())
	t.Setenv("PAVE_AUDIT_SEGMENT_RECORDS", "5")
	t.Setenv("PAVE_AUDIT_ARCHIVE_INTERVAL", "100ms")
	t.Setenv("PAVE_AUDIT_RETENTION", "0") // every record stays in AUDIT too
	dir := t.TempDir()
	base, app, js := startDevJS(t, dir)
	token, err := readToken(dir)
	require.NoError(t, err)
	p := &platform{t: t, base: base, token: token, js: js}
	fillAudit(t, p)
	require.Eventually(t, func() bool {
		_, ready := getJSON(t, p.base+"/readyz", "")
		return strings.Contains(strings.Join(anyStrings(ready["warnings"]), " "), "stream AUDIT is ")
	}, 30*time.Second, 100*time.Millisecond, "/readyz never warned of AUDIT")
	code, out := p.do(http.MethodPost, "/v1/teams", map[string]any{"name": "refused"})
	require.Equal(t, http.StatusServiceUnavailable, code, "a write with AUDIT full: %v", out)
	stopDev(t, app)

	t.Setenv("PAVE_AUDIT_RETENTION", "1ms")
	base, app, js = startDevJS(t, dir)
	t.Cleanup(func() { stopDev(t, app) })
	p = &platform{t: t, base: base, token: token, js: js}
	var last string
	require.Eventually(t, func() bool {
		code, out := p.do(http.MethodPost, "/v1/teams", map[string]any{"name": "after"})
		last = fmt.Sprintf("%d %v", code, out)
		return code == http.StatusCreated
	}, 60*time.Second, 200*time.Millisecond, "writes were still refused once archived records could leave: %s", &last)
	assert.NotContains(t, teamNames(t, p), "refused")

	t.Setenv("PAVE_SERVER", base)
	t.Setenv("PAVE_TOKEN", token)
	var verify bytes.Buffer
	require.NoError(t, runAccess("audit", []string{"verify"}, &verify), verify.String())
	assert.Contains(t, verify.String(), "audit chain ok")
	assert.Contains(t, verify.String(), "archived segments")
}
