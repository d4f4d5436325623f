package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/pave-platform/pave/services/access/audit"
)

// Issue 15 (the audit ledger bounded but complete): with segments of 5
// records and a tiny retention, pave dev's records roll into the archive
// and leave AUDIT, and `pave audit verify` still passes end to end
// (archive, then stream); an archived segment edited on disk fails it,
// naming the segment and the record.
func TestAuditArchiveRollsOverAndPaveAuditVerifyNamesATamperedSegment(t *testing.T) {
	dir := t.TempDir()
	archive := filepath.Join(t.TempDir(), "audit")
	t.Setenv("PAVE_AUDIT_ARCHIVE", "dir:"+archive)
	t.Setenv("PAVE_AUDIT_SEGMENT_RECORDS", "5")
	t.Setenv("PAVE_AUDIT_RETENTION", "1ms")
	t.Setenv("PAVE_AUDIT_ARCHIVE_INTERVAL", "100ms")
	base, app, js := startDevJS(t, dir)
	t.Cleanup(func() { stopDev(t, app) })
	token, err := readToken(dir)
	require.NoError(t, err)
	admin := accessAPI{t: t, base: base, token: token}
	for i := range 30 {
		admin.must(http.StatusCreated, http.MethodPost, "/v1/teams", map[string]any{"name": fmt.Sprintf("t%d", i)})
	}
	ctx := context.Background()
	var first uint64
	require.Eventually(t, func() bool {
		s, err := js.Stream(ctx, audit.Stream)
		if err != nil {
			return false
		}
		info, err := s.Info(ctx)
		if err != nil {
			return false
		}
		first = info.State.FirstSeq
		return first > 30
	}, 60*time.Second, 100*time.Millisecond, "archived records never left AUDIT: first sequence %d", &first)

	t.Setenv("PAVE_SERVER", base)
	t.Setenv("PAVE_TOKEN", token)
	var out bytes.Buffer
	require.NoError(t, runAccess("audit", []string{"verify"}, &out))
	assert.Contains(t, out.String(), "audit chain ok")
	assert.Contains(t, out.String(), "archived segments")

	// The records of the first teams are gone from GET /v1/audit (the
	// stream) but verified from the archive.
	// Only sealed segments: a file being written is a temporary .put-*.
	segs, err := filepath.Glob(filepath.Join(archive, "segment-*.jsonl"))
	require.NoError(t, err)
	require.NotEmpty(t, segs)
	sort.Strings(segs)
	seg := segs[0]
	raw, err := os.ReadFile(seg)
	require.NoError(t, err)
	lines := strings.Split(string(raw), "\n")
	var m struct {
		Seq  uint64 `json:"seq"`
		Data string `json:"data"`
	}
	require.NoError(t, json.Unmarshal([]byte(lines[1]), &m))
	recs, err := audit.Records([]byte(m.Data))
	require.NoError(t, err)
	recs[0].Actor = "someone-else" // the edit
	var data []string
	for _, r := range recs {
		b, _ := json.Marshal(r)
		data = append(data, string(b))
	}
	m.Data = strings.Join(data, "\n")
	line, _ := json.Marshal(m)
	lines[1] = string(line)
	require.NoError(t, os.WriteFile(seg, []byte(strings.Join(lines, "\n")), 0o600))

	err = runAccess("audit", []string{"verify"}, &out)
	require.Error(t, err)
	assert.Contains(t, err.Error(), "in archived segment "+filepath.Base(seg))
	assert.Contains(t, err.Error(), recs[0].ID)
	assert.Contains(t, err.Error(), "hash does not match the record's content")
}

// Issue 16: a TTL teardown is an action of the platform itself, in the
// ledger under system:ttl; GET /v1/audit pages it newest first.
func TestAuditRecordsATTLTeardownUnderSystemTTLAndPagesNewestFirst(t *testing.T) {
	p := startPlatform(t, "../../deploy/templates", nil)
	id := p.createPreview("pr-1", shortTTL.String())
	p.waitState(id, "deleted")

	var recs []any
	require.Eventually(t, func() bool {
		code, out := p.do(http.MethodGet, "/v1/audit?actor=system:ttl", nil)
		recs, _ = out["items"].([]any)
		return code == http.StatusOK && len(recs) == 1
	}, 30*time.Second, 100*time.Millisecond, "no system:ttl record: %v", &recs)
	rec := recs[0].(map[string]any)
	assert.Equal(t, "environment:delete", rec["action"])
	assert.Equal(t, "environment:"+id, rec["resource"])
	assert.Equal(t, "payments", rec["team"])
	assert.Equal(t, "system", rec["kind"])

	// Pages of one record, followed by next_cursor to the end: every record
	// once, newest first (in ledger order: the teardown before the create);
	// the last page has no cursor; a cursor that is not one is refused
	// naming it.
	var actions []string
	seen := map[string]bool{}
	path := "/v1/audit?team=payments&limit=1"
	for pages := 0; ; pages++ {
		require.Less(t, pages, 100, "the cursor does not advance")
		code, page := p.do(http.MethodGet, path, nil)
		require.Equal(t, http.StatusOK, code, "%v", page)
		for _, it := range page["items"].([]any) {
			rec := it.(map[string]any)
			assert.False(t, seen[rec["id"].(string)], "a record twice")
			seen[rec["id"].(string)] = true
			actions = append(actions, rec["actor"].(string)+" "+rec["action"].(string))
		}
		cursor, more := page["next_cursor"].(string)
		if !more {
			break
		}
		path = "/v1/audit?team=payments&limit=1&cursor=" + cursor
	}
	ttl, create := slices.Index(actions, "system:ttl environment:delete"), slices.Index(actions, "bootstrap-admin environment:create")
	require.True(t, ttl >= 0 && create >= 0, "%v", actions)
	assert.Less(t, ttl, create, "newest first: %v", actions)
	code, bad := p.do(http.MethodGet, "/v1/audit?cursor=nonsense", nil)
	assert.Equal(t, http.StatusUnprocessableEntity, code)
	assert.Equal(t, "query.cursor", problemField(bad))
}
