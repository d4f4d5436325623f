package ports

import (
	"bytes"
	"context"
	"encoding/csv"
	"net/http"
	"strconv"
	"time"

	"github.com/pave-platform/pave/pkg/rpc"
	"github.com/pave-platform/pave/services/cost/internal/domain"
)

// ExportPage is how many CSV rows one export answer carries (NATS
// messages are bounded; the gateway asks for pages until the last).
const ExportPage = 1000

// ExportReply is one page of an export.
type ExportReply struct {
	ContentType string `json:"content_type"`
	Filename    string `json:"filename"`
	// CSV holds the header (first page only) and the page's rows.
	CSV string `json:"csv"`
	// Next is the page to ask for next; empty on the last.
	Next string `json:"next,omitempty"`
	// AsOf pins the moment the export measures; later pages pass it back.
	AsOf string `json:"as_of"`
	Rows int    `json:"rows"`
}

func (a API) export(_ context.Context, req rpc.Request) rpc.Reply {
	q := req.Query
	if q["format"] != "focus" {
		return badQuery("format", "must be focus (FOCUS 1.2 CSV), the only format")
	}
	asOf := a.Now()
	if s := q["as_of"]; s != "" {
		t, err := time.Parse(time.RFC3339Nano, s)
		if err != nil {
			return badQuery("as_of", "must be an RFC 3339 time")
		}
		asOf = t
	}
	page := 0
	if s := q["page"]; s != "" {
		var err error
		if page, err = strconv.Atoi(s); err != nil || page < 0 {
			return badQuery("page", "must be a non-negative integer")
		}
	}
	pinned := API{Svc: a.Svc, Issuer: a.Issuer, Now: func() time.Time { return asOf }}
	win, _, bad := pinned.window(q, "month")
	if bad != nil {
		return *bad
	}
	rows, err := a.Svc.ExportAt(win, req.Principal.InTeam, asOf)
	if err != nil {
		return failure(err)
	}
	card := a.Svc.Card()
	var buf bytes.Buffer
	w := csv.NewWriter(&buf)
	if page == 0 {
		_ = w.Write(domain.FocusColumns)
	}
	from, to := min(page*ExportPage, len(rows)), min((page+1)*ExportPage, len(rows))
	for _, r := range rows[from:to] {
		_ = w.Write(r.Record(card.Currency, a.Issuer))
	}
	w.Flush()
	out := ExportReply{ContentType: "text/csv; charset=utf-8", CSV: buf.String(), AsOf: asOf.UTC().Format(time.RFC3339Nano),
		Rows: to - from, Filename: "pave-focus-" + win.Start.Format("20060102T150405Z") + "-" + win.End.Format("20060102T150405Z") + ".csv"}
	if to < len(rows) {
		out.Next = strconv.Itoa(page + 1)
	}
	return rpc.OK(http.StatusOK, out)
}
