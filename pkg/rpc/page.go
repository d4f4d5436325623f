package rpc

import (
	"encoding/base64"
	"net/http"
	"sort"
	"strconv"
)

// List paging: query `limit` (default DefaultLimit, at most MaxLimit) and
// `cursor` (opaque); the answer is {"items": [...], "next_cursor": "..."}
// with next_cursor left out on the last page.
const (
	DefaultLimit = 100
	MaxLimit     = 1000
)

// PageQuery is a list call's page: at most Limit items after the item
// whose key is After ("" = from the start).
type PageQuery struct {
	Limit int
	After string
}

// ParsePage reads `limit` and `cursor` from a list call's query. A bad
// value is a 400 answer naming the parameter.
func ParsePage(q map[string]string) (PageQuery, *Reply) {
	pq := PageQuery{Limit: DefaultLimit}
	if s, ok := q["limit"]; ok {
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 || n > MaxLimit {
			rep := Fail(http.StatusBadRequest, "Bad Request", "limit must be an integer from 1 to 1000",
				FieldError{Field: "query.limit", Message: "must be an integer from 1 to 1000"})
			return pq, &rep
		}
		pq.Limit = n
	}
	if c := q["cursor"]; c != "" {
		raw, err := base64.RawURLEncoding.DecodeString(c)
		if err != nil || len(raw) == 0 {
			rep := Fail(http.StatusBadRequest, "Bad Request", "cursor is not one this API gave out",
				FieldError{Field: "query.cursor", Message: "not a cursor this API gave out"})
			return pq, &rep
		}
		pq.After = string(raw)
	}
	return pq, nil
}

// Page cuts items, which are in strictly ascending order of key, to the
// page pq asks for: keyset paging, so an item added or removed between
// two calls never shifts the next page. next is "" on the last page.
func Page[T any](items []T, key func(T) string, pq PageQuery) (page []T, next string) {
	start := 0
	if pq.After != "" {
		start = sort.Search(len(items), func(i int) bool { return key(items[i]) > pq.After })
	}
	end := min(start+pq.Limit, len(items))
	page = items[start:end]
	if end < len(items) && len(page) > 0 {
		next = base64.RawURLEncoding.EncodeToString([]byte(key(page[len(page)-1])))
	}
	if page == nil {
		page = []T{}
	}
	return page, next
}

// PageReply answers a page as {"items": page, "next_cursor": next}.
func PageReply[T any](page []T, next string) Reply {
	body := map[string]any{"items": page}
	if next != "" {
		body["next_cursor"] = next
	}
	return OK(http.StatusOK, body)
}
