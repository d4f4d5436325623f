package rpc

import (
	"net/http"
	"testing"

	"github.com/stretchr/testify/assert"
)

func TestIfMatchComparesTheCurrentETag(t *testing.T) {
	cur := OK(http.StatusOK, map[string]int{"a": 1})
	tag := ETagOf(cur.Body)
	assert.Equal(t, tag, WithETag(cur).Headers["ETag"])

	_, ok := CheckIfMatch(Request{}, cur)
	assert.True(t, ok, "no If-Match: unconditional")
	_, ok = CheckIfMatch(Request{IfMatch: tag}, cur)
	assert.True(t, ok)
	_, ok = CheckIfMatch(Request{IfMatch: `"x", ` + tag}, cur)
	assert.True(t, ok)
	_, ok = CheckIfMatch(Request{IfMatch: "*"}, cur)
	assert.True(t, ok)
	_, ok = CheckIfMatch(Request{IfMatch: "W/" + tag}, cur)
	assert.False(t, ok, "a weak tag never matches If-Match")

	rep, ok := CheckIfMatch(Request{IfMatch: `"stale"`}, cur)
	assert.False(t, ok)
	assert.Equal(t, http.StatusPreconditionFailed, rep.Status)
	assert.Equal(t, "header.If-Match", rep.Problem.Errors[0].Field)
	assert.Equal(t, tag, rep.Headers["ETag"])

	rep, _ = CheckIfMatch(Request{IfMatch: tag}, NotFound("pool", "x"))
	assert.Equal(t, http.StatusPreconditionFailed, rep.Status)
}

func TestPagesFollowTheCursorToTheEnd(t *testing.T) {
	items := []string{"a", "b", "c", "d", "e"}
	id := func(s string) string { return s }
	pq, bad := ParsePage(map[string]string{"limit": "2"})
	assert.Nil(t, bad)
	var got []string
	for range 10 {
		page, next := Page(items, id, pq)
		got = append(got, page...)
		if next == "" {
			break
		}
		pq, bad = ParsePage(map[string]string{"limit": "2", "cursor": next})
		assert.Nil(t, bad)
	}
	assert.Equal(t, items, got)

	page, next := Page(items, id, PageQuery{Limit: 5})
	assert.Len(t, page, 5)
	assert.Empty(t, next, "no cursor on the last page")

	for _, q := range []map[string]string{{"limit": "0"}, {"limit": "1001"}, {"limit": "x"}} {
		_, bad := ParsePage(q)
		if assert.NotNil(t, bad) {
			assert.Equal(t, http.StatusBadRequest, bad.Status)
			assert.Equal(t, "query.limit", bad.Problem.Errors[0].Field)
		}
	}
	_, bad = ParsePage(map[string]string{"cursor": "!!"})
	if assert.NotNil(t, bad) {
		assert.Equal(t, "query.cursor", bad.Problem.Errors[0].Field)
	}
}
